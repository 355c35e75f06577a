package cmdoplocal

import (
	"net/http"
	"net/url"
	"strings"
)

// handler serves one matched route.
type handler func(s *Server, w http.ResponseWriter, c *call)

// apiRoute is one operation of the contract under /api, with its
// operationId and x-required-scopes there: the authorization table.
type apiRoute struct {
	method      string
	pattern     string // the path template, exactly as in openapi.yaml
	operationID string
	scopes      []string
	handle      handler
}

// controlRoute is one test control under /_local. It needs the control
// token, never a scope.
type controlRoute struct {
	method  string
	pattern string
	handle  handler
}

func (rt apiRoute) endpoint() (method, pattern string)     { return rt.method, rt.pattern }
func (rt controlRoute) endpoint() (method, pattern string) { return rt.method, rt.pattern }

// manage is what managing tokens and reading the audit log need.
var manage = []string{scopePermissionsManage}

// apiRoutes, the only table serveAPI matches, holds every operation of
// internal/cmdopapi/openapi.yaml, with the scopes each needs
// (TestRoutesMatchTheContract holds the two together).
var apiRoutes = []apiRoute{
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
}

// controlRoutes, the only table serveLocal matches, holds the test controls.
var controlRoutes = []controlRoute{
	{http.MethodGet, "/_local/clock", (*Server).getClock},
	{http.MethodPost, "/_local/clock", (*Server).advanceClock},
	{http.MethodGet, "/_local/faults", (*Server).getFaults},
	{http.MethodPost, "/_local/faults", (*Server).setFaults},
	{http.MethodGet, "/_local/stats", (*Server).getStats},
	{http.MethodDelete, "/_local/stats", (*Server).resetStats},
	{http.MethodPost, "/_local/members", (*Server).addMember},
	{http.MethodDelete, "/_local/members/{user_id}", (*Server).removeMember},
	{http.MethodPost, "/_local/fleets", (*Server).addFleet},
}

// collectionHandler handles a request on one collection of tokens.
type collectionHandler func(s *Server, w http.ResponseWriter, c *call, col *collection)

// inFleet serves h on the fleet of the path, personal on the caller's
// personal tokens, once the caller may act on them.
func inFleet(h collectionHandler) handler {
	return onCollection((*Server).fleetCollection, h)
}

func personal(h collectionHandler) handler {
	return onCollection((*Server).personalCollection, h)
}

func onCollection(resolve func(*Server, *call) (*collection, *apiError), h collectionHandler) handler {
	return func(s *Server, w http.ResponseWriter, c *call) {
		col, err := resolve(s, c)
		if err != nil {
			writeError(w, err)
			return
		}
		h(s, w, c, col)
	}
}

// anyRoute is a route of either table.
type anyRoute interface {
	apiRoute | controlRoute
	endpoint() (method, pattern string)
}

// matchRoute finds the route of table for method and u. When the path
// matches but the method does not, it returns no route and the methods the
// path allows.
func matchRoute[R anyRoute](table []R, method string, u *url.URL) (*R, map[string]string, []string) {
	segs, ok := pathSegments(u)
	if !ok {
		return nil, nil, nil
	}
	var allow []string
	for i := range table {
		m, pattern := table[i].endpoint()
		params, ok := matchPattern(pattern, segs)
		if !ok {
			continue
		}
		if m == method {
			return &table[i], params, nil
		}
		allow = append(allow, m)
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
