package cmdopapi

import (
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestOpenAPISpecIsValid(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPISpec)
	if err != nil {
		t.Fatalf("loading the contract: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the contract is not valid OpenAPI 3: %v", err)
	}
}
