package cmdoplocal

import (
	"net/http"
	"net/url"
	"strings"
)

// route is one operation: of the contract under /api (with its
// operationId and x-required-scopes there: the authorization table), or a
// test control under /_local.
type route struct {
	method      string
	pattern     string   // the path template, for /api exactly as in openapi.yaml
	operationID string   // its operationId there; "" for a control
	scopes      []string // its x-required-scopes there
	handle      func(s *Server, w http.ResponseWriter, c *call)
}

// manage is what managing tokens and reading the audit log need.
var manage = []string{scopePermissionsManage}

// routes is the one route table: every operation of
// internal/cmdopapi/openapi.yaml, with the scopes each needs
// (TestRoutesMatchTheContract holds the two together), and the test
// controls.
var routes = []route{
	{http.MethodGet, "/api/fleets/{fleet_id}/api-keys", "listFleetTokens", manage, inFleet((*Server).listTokens)},
	{http.MethodPost, "/api/fleets/{fleet_id}/api-keys", "createFleetToken", manage, inFleet((*Server).createToken)},
	{http.MethodGet, "/api/fleets/{fleet_id}/api-keys/{key_id}", "getFleetToken", manage, inFleet((*Server).getToken)},
	{http.MethodPatch, "/api/fleets/{fleet_id}/api-keys/{key_id}", "shortenFleetTokenExpiry", manage, inFleet((*Server).patchToken)},
	{http.MethodDelete, "/api/fleets/{fleet_id}/api-keys/{key_id}", "revokeFleetToken", manage, inFleet((*Server).revokeToken)},
	{http.MethodGet, "/api/fleets/{fleet_id}/api-keys/by-idempotency-key/{idempotency_key}", "findFleetTokenByIdempotencyKey", manage, inFleet((*Server).findByIdempotencyKey)},
	{http.MethodGet, "/api/account/api-tokens", "listPersonalTokens", manage, personal((*Server).listTokens)},
	{http.MethodPost, "/api/account/api-tokens", "createPersonalToken", manage, personal((*Server).createToken)},
	{http.MethodGet, "/api/account/api-tokens/{token_id}", "getPersonalToken", manage, personal((*Server).getToken)},
	{http.MethodPatch, "/api/account/api-tokens/{token_id}", "shortenPersonalTokenExpiry", manage, personal((*Server).patchToken)},
	{http.MethodDelete, "/api/account/api-tokens/{token_id}", "revokePersonalToken", manage, personal((*Server).revokeToken)},
	{http.MethodGet, "/api/account/api-tokens/by-idempotency-key/{idempotency_key}", "findPersonalTokenByIdempotencyKey", manage, personal((*Server).findByIdempotencyKey)},
	{http.MethodGet, "/api/audit/events", "listAuditEvents", manage, (*Server).listAuditEvents},
	{http.MethodGet, "/api/account", "getAccount", nil, (*Server).getAccount},

	{http.MethodGet, "/_local/clock", "", nil, (*Server).getClock},
	{http.MethodPost, "/_local/clock", "", nil, (*Server).advanceClock},
	{http.MethodGet, "/_local/faults", "", nil, (*Server).getFaults},
	{http.MethodPost, "/_local/faults", "", nil, (*Server).setFaults},
	{http.MethodGet, "/_local/stats", "", nil, (*Server).getStats},
	{http.MethodDelete, "/_local/stats", "", nil, (*Server).resetStats},
	{http.MethodPost, "/_local/members", "", nil, (*Server).addMember},
	{http.MethodDelete, "/_local/members/{user_id}", "", nil, (*Server).removeMember},
	{http.MethodPost, "/_local/fleets", "", nil, (*Server).addFleet},
}

// isControl tells a test control from an API operation.
func (rt *route) isControl() bool { return strings.HasPrefix(rt.pattern, "/_local/") }

// collectionHandler handles a request on one collection of tokens.
type collectionHandler func(s *Server, w http.ResponseWriter, c *call, col *collection)

// inFleet serves h on the fleet of the path, personal on the caller's
// personal tokens, once the caller may act on them.
func inFleet(h collectionHandler) func(*Server, http.ResponseWriter, *call) {
	return onCollection((*Server).fleetCollection, h)
}

func personal(h collectionHandler) func(*Server, http.ResponseWriter, *call) {
	return onCollection((*Server).personalCollection, h)
}

func onCollection(resolve func(*Server, *call) (*collection, *apiError), h collectionHandler) func(*Server, http.ResponseWriter, *call) {
	return func(s *Server, w http.ResponseWriter, c *call) {
		col, err := resolve(s, c)
		if err != nil {
			writeError(w, err)
			return
		}
		h(s, w, c, col)
	}
}

// matchRoute finds the route for method and u. When the path matches but the
// method does not, it returns no route and the methods the path allows.
func matchRoute(method string, u *url.URL) (*route, map[string]string, []string) {
	segs, ok := pathSegments(u)
	if !ok {
		return nil, nil, nil
	}
	var allow []string
	for i := range routes {
		rt := &routes[i]
		params, ok := matchPattern(rt.pattern, segs)
		if !ok {
			continue
		}
		if rt.method == method {
			return rt, params, nil
		}
		allow = append(allow, rt.method)
	}
	return nil, nil, allow
}

// pathSegments splits the escaped path and unescapes each segment, so that an
// encoded slash stays inside its segment.
func pathSegments(u *url.URL) ([]string, bool) {
	parts := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	for i, p := range parts {
		v, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = v
	}
	return parts, true
}

func matchPattern(pattern string, segs []string) (map[string]string, bool) {
	want := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	if len(want) != len(segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, w := range want {
		if strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}") {
			if segs[i] == "" {
				return nil, false
			}
			params[w[1:len(w)-1]] = segs[i]
			continue
		}
		if w != segs[i] {
			return nil, false
		}
	}
	return params, true
}
