package cmdoplocal

import (
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
)

func TestScratchContract(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(cmdop.OpenAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"id":"1bda0e37-c294-4cce-8d83-0873f46a94c9","fleet_id":"e65e","name":"ci","key_prefix":"cmdop_FrA0zs","scopes":["machines:read"],"created_at":"2026-11-26T17:12:08.134512291Z","status":"active","raw_token":"cmdop_FrA0zsZByBbWoT3tMk3PZ0AcYD7QXl7ciY3cBxbN"}`
	var v any
	json.Unmarshal([]byte(body), &v)
	t.Log(doc.Components.Schemas["CreatedToken"].Value.VisitJSON(v))
	t.Log(doc.Components.Schemas["Token"].Value.VisitJSON(v))
}
