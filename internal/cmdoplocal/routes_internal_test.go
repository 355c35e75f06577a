package cmdoplocal

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

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

// Every control route, whatever its method, refuses every API token (the
// seeded admin's too) and a missing one, before it does anything: the
// clock, the faults, the members and fleets are as they were.
func TestEveryControlRouteRefusesAPITokens(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	controls := 0
	for _, rt := range routes {
		if !rt.isControl() {
			continue
		}
		controls++
		path := strings.ReplaceAll(rt.pattern, "{user_id}", s.OwnerUserID())
		for _, c := range []struct {
			token  string
			status int
		}{{s.AdminToken(), http.StatusForbidden}, {"", http.StatusUnauthorized}} {
			now, stats := s.Now(), s.Stats().Total
			fleets, users := len(s.st.fleets), len(s.st.users)
			req := httptest.NewRequest(rt.method, path, strings.NewReader(`{"advance":"1h","role":"admin","fail_rate":1}`))
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Errorf("%s %s (an API token: %v): %d, want %d", rt.method, path, c.token != "", rec.Code, c.status)
			}
			if s.Now().Sub(now) > time.Minute || s.Faults().FailRate != 0 || len(s.st.fleets) != fleets || len(s.st.users) != users || s.Stats().Total != stats {
				t.Errorf("%s %s, refused, still acted", rt.method, path)
			}
		}
	}
	if controls < 9 {
		t.Fatalf("only %d control routes in the table", controls)
	}
}
