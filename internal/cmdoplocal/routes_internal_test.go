package cmdoplocal

import (
	"encoding/json"
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

// TestRoutesMatchTheContract holds apiRoutes (their scopes are the
// authorization table) and the contract's x-required-scopes together,
// operation by operation.
func TestRoutesMatchTheContract(t *testing.T) {
	want := contractScopes(t)
	seen := map[string]bool{}
	for _, rt := range apiRoutes {
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
	for _, rt := range controlRoutes {
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

// probe is a request for one route that does what the route does when its
// own handler serves it: its path names real objects and its body is valid.
type probe struct{ method, path, body string }

// routeFixture is a server with a fleet token, a personal token (each
// created with an Idempotency-Key) and a member, for the probes to act on.
type routeFixture struct {
	s     *Server
	paths *strings.Replacer
}

func newRouteFixture(t *testing.T) *routeFixture {
	t.Helper()
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	create := func(path, key string) string {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{"name":"target","scopes":["machines:read"]}`))
		req.Header.Set("Authorization", "Bearer "+s.AdminToken())
		req.Header.Set("Idempotency-Key", key)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var tok cmdopapi.Token
		if err := json.Unmarshal(rec.Body.Bytes(), &tok); rec.Code != http.StatusCreated || err != nil {
			t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
		}
		return tok.ID
	}
	fleetToken := create("/api/fleets/"+s.FleetID()+"/api-keys", "fleet-key")
	personalToken := create("/api/account/api-tokens", "personal-key")
	member, _, _, err := s.AddMember("", RoleMember, "probe")
	if err != nil {
		t.Fatal(err)
	}
	return &routeFixture{s: s, paths: strings.NewReplacer("{fleet_id}", s.FleetID(), "{key_id}", fleetToken,
		"{token_id}", personalToken, "{user_id}", member,
		"api-keys/by-idempotency-key/{idempotency_key}", "api-keys/by-idempotency-key/fleet-key",
		"api-tokens/by-idempotency-key/{idempotency_key}", "api-tokens/by-idempotency-key/personal-key")}
}

// probeBodies are the bodies of the routes that take one.
var probeBodies = map[string]string{
	"POST /api/fleets/{fleet_id}/api-keys":           `{"name":"probe","scopes":["machines:read"]}`,
	"PATCH /api/fleets/{fleet_id}/api-keys/{key_id}": `{"expires_at":"2099-01-01T00:00:00Z"}`,
	"POST /api/account/api-tokens":                   `{"name":"probe","scopes":["machines:read"]}`,
	"PATCH /api/account/api-tokens/{token_id}":       `{"expires_at":"2099-01-01T00:00:00Z"}`,
	"POST /_local/clock":                             `{"advance":"1h"}`,
	"POST /_local/faults":                            `{"fail_rate":1}`,
	"POST /_local/members":                           `{"role":"admin","name":"probe"}`,
	"POST /_local/fleets":                            `{"fleet_id":"probe-fleet"}`,
}

func (f *routeFixture) probe(method, pattern string) probe {
	return probe{method, f.paths.Replace(pattern), probeBodies[method+" "+pattern]}
}

// send sends p to handler: "ServeHTTP", or "serveAPI" or "serveLocal"
// straight, past ServeHTTP's choice by prefix. The /api handler gets the
// seeded admin's token, the /_local one the control token.
func (f *routeFixture) send(t *testing.T, handler string, p probe) (int, cmdopapi.ErrorDetail) {
	t.Helper()
	req := httptest.NewRequest(p.method, p.path, strings.NewReader(p.body))
	token := f.s.AdminToken()
	if handler == "serveLocal" || handler == "ServeHTTP" && strings.HasPrefix(p.path, "/_local/") {
		token = f.s.ControlToken()
	}
	req.Header.Set("Authorization", "Bearer "+token)
	buf := newBufferedResponse()
	switch handler {
	case "serveAPI":
		f.s.serveAPI(buf, req, "req_probe")
	case "serveLocal":
		f.s.serveLocal(buf, req, "req_probe")
	default:
		f.s.ServeHTTP(buf, req)
	}
	var eb cmdopapi.ErrorBody
	_ = json.Unmarshal(buf.body.Bytes(), &eb)
	return buf.statusCode(), eb.Error
}

// stateOf is what the routes can change: the clock, the faults, the users,
// fleets, tokens and Idempotency-Keys, and the audit log but for token.used
// (every authenticated /api request records one, and its token's
// last_used_at); and the number of requests the statistics counted.
func (f *routeFixture) stateOf(t *testing.T) (string, int) {
	t.Helper()
	s := f.s
	s.mu.Lock()
	defer s.mu.Unlock()
	tokens := map[string]tokenRecord{}
	for id, tr := range s.st.tokens {
		c := *tr
		c.LastUsedAt, c.savedLastUsed = nil, nil
		tokens[id] = c
	}
	events := 0
	if err := s.db.db.QueryRow(`SELECT count(*) FROM events WHERE action <> ?`, cmdopapi.ActionTokenUsed).Scan(&events); err != nil {
		t.Fatal(err)
	}
	for _, e := range s.st.pending.events {
		if e.Action != cmdopapi.ActionTokenUsed {
			events++
		}
	}
	b, err := json.Marshal(map[string]any{"clock": s.st.clockOffset, "faults": s.Faults(), "users": s.st.users,
		"fleets": s.st.fleets, "tokens": tokens, "idempotency": len(s.st.idem), "events": events})
	if err != nil {
		t.Fatal(err)
	}
	return string(b), s.Stats().Total
}

// Each prefix has its own route table, served only by its own handler: a
// control reached under /api, or an API operation under /_local, even
// straight at the other handler with that handler's own credentials, is a
// route_not_found and changes nothing. Each probe is first shown to work
// at its own prefix (and, when it writes, to change the state), so that
// the refusal is not that of a request that could never succeed.
func TestEachPrefixServesOnlyItsOwnRoutes(t *testing.T) {
	t.Parallel()
	type crossing struct {
		method, pattern string
		own, handler    string // the route's own handler; the one it is sent to
		path            func(string) string
	}
	var cases []crossing
	for _, rt := range controlRoutes {
		for _, c := range []crossing{
			{handler: "serveAPI", path: func(p string) string { return p }},
			{handler: "ServeHTTP", path: func(p string) string { return "/api" + p }},
		} {
			c.method, c.pattern, c.own = rt.method, rt.pattern, "serveLocal"
			cases = append(cases, c)
		}
	}
	for _, rt := range apiRoutes {
		for _, c := range []crossing{
			{handler: "serveLocal", path: func(p string) string { return p }},
			{handler: "ServeHTTP", path: func(p string) string { return "/_local" + p }},
		} {
			c.method, c.pattern, c.own = rt.method, rt.pattern, "serveAPI"
			cases = append(cases, c)
		}
	}
	for _, c := range cases {
		name := c.method + " " + c.pattern
		if c.handler == "ServeHTTP" {
			name += " at " + c.path(c.pattern)
		} else {
			name += " to " + c.handler
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if c.method == http.MethodPost || c.method == http.MethodPatch {
				if _, ok := probeBodies[c.method+" "+c.pattern]; !ok {
					t.Fatalf("no body in probeBodies for %s %s", c.method, c.pattern)
				}
			}

			// At its own prefix, the probe does what its route does.
			f := newRouteFixture(t)
			p := f.probe(c.method, c.pattern)
			state, total := f.stateOf(t)
			status, _ := f.send(t, c.own, p)
			if status >= 300 {
				t.Fatalf("%s %s to %s, its own handler: %d", p.method, p.path, c.own, status)
			}
			if after, _ := f.stateOf(t); c.method != http.MethodGet && after == state && c.pattern != "/_local/stats" {
				t.Fatalf("%s %s to %s changed nothing: the probe proves nothing", p.method, p.path, c.own)
			}
			if _, afterTotal := f.stateOf(t); c.pattern == "/_local/stats" && c.method == http.MethodDelete && afterTotal == total {
				t.Fatalf("%s %s to %s did not reset the statistics", p.method, p.path, c.own)
			}

			// At the other prefix, it is not a route.
			f = newRouteFixture(t)
			p = f.probe(c.method, c.pattern)
			p.path = c.path(p.path)
			state, total = f.stateOf(t)
			status, detail := f.send(t, c.handler, p)
			want := "No API route matches"
			if c.own == "serveAPI" {
				want = "No test control matches"
			}
			if status != http.StatusNotFound || detail.Reason != cmdopapi.ReasonRouteNotFound || !strings.HasPrefix(detail.Message, want) {
				t.Errorf("%s %s to %s: %d %+v, want 404 route_not_found %q", p.method, p.path, c.handler, status, detail, want)
			}
			counted := 0
			if c.own == "serveLocal" {
				counted = 1 // an /api request, counted as unmatched
			}
			if after, afterTotal := f.stateOf(t); after != state || afterTotal != total+counted {
				t.Errorf("%s %s to %s, not a route, changed the state:\n before %s (%d requests)\n after  %s (%d requests)",
					p.method, p.path, c.handler, state, total, after, afterTotal)
			}
		})
	}
}
