package cmdoplocal

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
)

// route is one operation of the contract.
type route struct {
	method      string
	pattern     string   // the path template exactly as in openapi.yaml
	operationID string   // its operationId there
	scopes      []string // its x-required-scopes there: the authorization table
	handle      func(s *Server, w http.ResponseWriter, c *call)
}

// manage is what managing tokens and reading the audit log need.
var manage = []string{scopePermissionsManage}

// apiRoutes lists every operation of internal/cmdopapi/openapi.yaml, with the
// scopes each needs; TestRoutesMatchTheContract holds the two together.
var apiRoutes = []route{
	{http.MethodGet, "/api/fleets/{fleet_id}/api-keys", "listFleetTokens", manage, (*Server).listFleetTokens},
	{http.MethodPost, "/api/fleets/{fleet_id}/api-keys", "createFleetToken", manage, (*Server).createFleetToken},
	{http.MethodGet, "/api/fleets/{fleet_id}/api-keys/{key_id}", "getFleetToken", manage, (*Server).getFleetToken},
	{http.MethodPatch, "/api/fleets/{fleet_id}/api-keys/{key_id}", "shortenFleetTokenExpiry", manage, (*Server).patchFleetToken},
	{http.MethodDelete, "/api/fleets/{fleet_id}/api-keys/{key_id}", "revokeFleetToken", manage, (*Server).deleteFleetToken},
	{http.MethodGet, "/api/account/api-tokens", "listPersonalTokens", manage, (*Server).listPersonalTokens},
	{http.MethodPost, "/api/account/api-tokens", "createPersonalToken", manage, (*Server).createPersonalToken},
	{http.MethodGet, "/api/account/api-tokens/{token_id}", "getPersonalToken", manage, (*Server).getPersonalToken},
	{http.MethodPatch, "/api/account/api-tokens/{token_id}", "shortenPersonalTokenExpiry", manage, (*Server).patchPersonalToken},
	{http.MethodDelete, "/api/account/api-tokens/{token_id}", "revokePersonalToken", manage, (*Server).deletePersonalToken},
	{http.MethodGet, "/api/audit/events", "listAuditEvents", manage, (*Server).listAuditEvents},
	{http.MethodGet, "/api/account", "getAccount", nil, (*Server).getAccount},
}

// matchRoute finds the route for method and u. When the path matches but the
// method does not, it returns no route and the methods the path allows.
func matchRoute(method string, u *url.URL) (*route, map[string]string, []string) {
	segs, ok := pathSegments(u)
	if !ok {
		return nil, nil, nil
	}
	var allow []string
	for i := range apiRoutes {
		rt := &apiRoutes[i]
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

// bufferedResponse collects a whole response so that nothing reaches the
// client before the server has committed and decided whether to drop it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse {
	return &bufferedResponse{header: http.Header{}}
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) statusCode() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

// reset discards everything written so far except the request id.
func (b *bufferedResponse) reset() {
	id := b.header.Get("X-Request-Id")
	b.header = http.Header{}
	b.header.Set("X-Request-Id", id)
	b.status = 0
	b.body.Reset()
}

// sendTo writes the buffered response to w.
func (b *bufferedResponse) sendTo(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	w.WriteHeader(b.statusCode())
	_, _ = w.Write(b.body.Bytes())
}
