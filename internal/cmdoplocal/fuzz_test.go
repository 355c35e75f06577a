package cmdoplocal_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// FuzzDecodeCreateRequest feeds arbitrary bodies to the create and PATCH
// handlers: they must never panic, never answer 5xx, and always answer a
// success or a well-formed 422.
func FuzzDecodeCreateRequest(f *testing.F) {
	for _, seed := range []string{
		`{"name":"ci","scopes":["machines:read"]}`,
		`{"name":"ci","scopes":["machines:read"],"expires_in_days":30}`,
		`{"name":"ci","scopes":["files:read"],"expires_at":"2099-01-01T00:00:00Z"}`,
		`{"expires_at":"2099-01-01T00:00:00+23:59"}`,
		`{"expires_at":"9999-12-31T23:59:59-23:59"}`,
		`{"name":"ci","scopes":["files:read"],"expires_at":"9999-12-31T23:59:59-23:59"}`,
		`{"name":null,"scopes":null,"expires_in_days":null,"expires_at":null}`,
		`{"name":"x","scopes":["a","a"],"expires_in_days":-1}`,
		`{"name":{"a":1},"scopes":[1,2]}`,
		`{"expires_in_days":9223372036854775807,"name":"x","scopes":["files:read"]}`,
		`[`, `{`, `}`, `null`, `""`, `0`, `{"a":}`, "{\"name\":\"\xff\"}", ``, `{}{}`,
	} {
		f.Add([]byte(seed))
	}
	srv, err := cmdoplocal.New(cmdoplocal.Options{AdminToken: testAdminToken, FleetID: "fz"})
	if err != nil {
		f.Fatal(err)
	}
	serve := func(method, path string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	rec := serve("POST", personalPath, []byte(`{"name":"target","scopes":["files:read"]}`))
	var target cmdopapi.Token
	if err := json.Unmarshal(rec.Body.Bytes(), &target); err != nil || rec.Code != 201 {
		f.Fatalf("creating the PATCH target: %d %s", rec.Code, rec.Body)
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range [][2]string{
			{"POST", personalPath},
			{"POST", fleetPath("fz")},
			{"PATCH", personalPath + "/" + target.ID},
		} {
			rec := serve(target[0], target[1], body)
			switch rec.Code {
			case 200, 201:
			case 422:
				var eb cmdopapi.ErrorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code != cmdopapi.CodeValidation || eb.Error.Message == "" {
					t.Fatalf("%s %s: bad 422 body %s", target[0], target[1], rec.Body)
				}
			default:
				t.Fatalf("%s %s with %q: status %d %s", target[0], target[1], body, rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		}
	})
}
