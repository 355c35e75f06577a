package cmdoplocal_test

import (
	"net/http"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// Every 404 names what is missing, and routing comes after authentication.
func TestNotFoundReasons(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	tok := e.createFleetToken("probe", "machines:read")
	missing := "00000000-0000-4000-8000-000000000000"
	cases := []struct {
		name, method, path, token string
		status                    int
		reason                    string
	}{
		{"missing token", http.MethodGet, fleetPath(e.fleet) + "/" + missing, e.admin, 404, cmdopapi.ReasonTokenNotFound},
		{"malformed token id", http.MethodGet, fleetPath(e.fleet) + "/nope", e.admin, 404, cmdopapi.ReasonTokenNotFound},
		{"token in another collection", http.MethodGet, "/api/account/api-tokens/" + tok.ID, e.admin, 404, cmdopapi.ReasonTokenNotFound},
		{"missing fleet", http.MethodGet, fleetPath("nope") + "/" + tok.ID, e.admin, 404, cmdopapi.ReasonFleetNotFound},
		{"missing fleet in audit", http.MethodGet, "/api/audit/events?fleet_id=nope", e.admin, 404, cmdopapi.ReasonFleetNotFound},
		{"unknown route, good token", http.MethodGet, "/v1/api/fleets/" + e.fleet + "/api-keys", e.admin, 404, cmdopapi.ReasonRouteNotFound},
		{"unknown /api route, good token", http.MethodGet, "/api/nope", e.admin, 404, cmdopapi.ReasonRouteNotFound},
		{"unknown route, bad token", http.MethodGet, "/v1/api/fleets/x/api-keys", "cmdop_NotAToken0123456789abcdefghijklmno", 401, ""},
		{"unknown route, no token", http.MethodGet, "/nope", "", 401, ""},
	}
	for _, tc := range cases {
		r := e.do(tc.method, tc.path, tc.token, nil)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d; body %s", tc.name, r.status, tc.status, r.body)
			continue
		}
		if got := r.errBody(t).Reason; got != tc.reason {
			t.Errorf("%s: reason %q, want %q", tc.name, got, tc.reason)
		}
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	e.do("GET", "/api/nope", e.admin, nil).expect(t, 404, cmdopapi.CodeNotFound)
	e.do("GET", "/", e.admin, nil).expect(t, 404, cmdopapi.CodeNotFound)
	e.do("GET", personalPath+"/", e.admin, nil).expect(t, 404, cmdopapi.CodeNotFound)
	r := e.do("PUT", personalPath, e.admin, `{}`).expect(t, 405, cmdopapi.CodeNotFound)
	mustf(t, r.header.Get("Allow") == "GET, POST", "Allow %q", r.header.Get("Allow"))
	e.do("DELETE", "/api/audit/events", e.admin, nil).expect(t, 405, cmdopapi.CodeNotFound)
	e.do("PUT", "/_local/clock", e.ctl, nil).expect(t, 405, cmdopapi.CodeNotFound)
	e.do("GET", "/_local/nope", e.ctl, nil).expect(t, 404, cmdopapi.CodeNotFound)
}
