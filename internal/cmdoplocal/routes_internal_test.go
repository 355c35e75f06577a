package cmdoplocal

import (
	"fmt"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// contractScopes returns each operation's x-required-scopes, by "METHOD path".
func contractScopes(t *testing.T) map[string][]string {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(cmdopapi.OpenAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			raw, ok := op.Extensions["x-required-scopes"]
			if !ok {
				t.Errorf("%s (%s) has no x-required-scopes in the contract", key, op.OperationID)
				continue
			}
			list, ok := raw.([]any)
			if !ok {
				t.Errorf("%s: x-required-scopes is %T, want a list", key, raw)
				continue
			}
			scopes := []string{}
			for _, v := range list {
				s, ok := v.(string)
				if !ok || !slices.Contains(cmdopapi.Scopes, s) {
					t.Errorf("%s: x-required-scopes holds %v, not a scope", key, v)
				}
				scopes = append(scopes, s)
			}
			out[key] = scopes
			out["operationId "+key] = []string{op.OperationID}
		}
	}
	return out
}

// TestRoutesMatchTheContract holds the route table's API operations (their
// scopes are the authorization table) and the contract's x-required-scopes
// together, operation by operation.
func TestRoutesMatchTheContract(t *testing.T) {
	want := contractScopes(t)
	seen := map[string]bool{}
	for _, rt := range routes {
		if rt.isControl() {
			continue
		}
		key := rt.method + " " + rt.pattern
		seen[key] = true
		scopes, ok := want[key]
		if !ok {
			t.Errorf("route %s is not in the contract", key)
			continue
		}
		if fmt.Sprint(scopes) != fmt.Sprint(append([]string{}, rt.scopes...)) {
			t.Errorf("%s: cmdop-local requires %v, the contract %v", key, rt.scopes, scopes)
		}
		if id := want["operationId "+key]; id[0] != rt.operationID {
			t.Errorf("%s: operationId %q, the contract says %q", key, rt.operationID, id[0])
		}
	}
	for key := range want {
		if len(key) > 12 && key[:12] == "operationId " {
			continue
		}
		if !seen[key] {
			t.Errorf("the contract's %s has no route in cmdop-local", key)
		}
	}
}
