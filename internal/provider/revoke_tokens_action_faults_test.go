package provider_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// faultProxy stands between the provider and the test's cmdop-local and
// fails chosen calls: an answer of its own (403, 503), or "drop", which
// lets cmdop-local handle the call (and commit it) and then closes the
// connection without an answer, as a lost response does.
type faultProxy struct {
	URL string
	mu  sync.Mutex
	// rule picks the fault for a request, given how many requests with the
	// same method and path came before it: "" passes it through.
	rule  func(method, path string, seen int) string
	seen  map[string]int
	reqID map[string][]string // "METHOD path" → X-Request-Id of each answer cmdop-local gave
}

func newFaultProxy(t *testing.T, api *testAPI, rule func(method, path string, seen int) string) *faultProxy {
	t.Helper()
	target, err := url.Parse(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{rule: rule, seen: map[string]int{}, reqID: map[string][]string{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		p.mu.Lock()
		n := p.seen[key]
		p.seen[key]++
		fault := p.rule(r.Method, r.URL.Path, n)
		p.mu.Unlock()
		switch fault {
		case "403":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Request-Id", "proxy-403")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(cmdopapi.ErrorBody{Error: cmdopapi.ErrorDetail{
				Code: cmdopapi.CodePermission, Message: "The proxy forbids this call.",
			}})
		case "503":
			w.Header().Set("X-Request-Id", "proxy-503")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "drop":
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			p.mu.Lock()
			p.reqID[key] = append(p.reqID[key], rec.Header().Get("X-Request-Id"))
			p.mu.Unlock()
			hj, ok := w.(http.Hijacker)
			if !ok {
				panic("no hijacker")
			}
			conn, _, err := hj.Hijack()
			if err == nil {
				_ = conn.Close()
			}
		default:
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			p.mu.Lock()
			p.reqID[key] = append(p.reqID[key], rec.Header().Get("X-Request-Id"))
			p.mu.Unlock()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		}
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// answered returns the request IDs cmdop-local gave for method and path.
func (p *faultProxy) answered(method, path string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.reqID[method+" "+path]...)
}

// proxiedRun is a CLI run whose provider calls the API through the proxy,
// retrying each call once.
func proxiedRun(t *testing.T, api *testAPI, p *faultProxy, token, action string) *cliRun {
	t.Helper()
	if token == "" {
		token = api.secret
	}
	return newCLIRun(t, api, map[string]string{"main.tf": fmt.Sprintf(`
provider "cmdop" {
  api_base_url = %q
  token        = %q
  fleet_id     = %q
  max_retries  = 1
}

action "cmdop_revoke_tokens" "x" {
  config {
    %s
  }
}
`, p.URL, token, api.FleetID(), action)})
}

func fleetKeyPath(api *testAPI, id string) string {
	return "/api/fleets/" + api.FleetID() + "/api-keys/" + id
}

// One DELETE refused (403) and one failing with 503 among four: the other
// two are revoked, and the summary says which failed and why.
func TestAccRevokeTokensAction_someDeletesFail(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	var toks []*cmdopapi.Token
	for i := 1; i <= 4; i++ {
		toks = append(toks, api.createToken(api.FleetID(), fmt.Sprintf("bulk-%d", i), nil))
	}
	p := newFaultProxy(t, api, func(method, path string, _ int) string {
		switch {
		case method == http.MethodDelete && path == fleetKeyPath(api, toks[1].ID):
			return "403"
		case method == http.MethodDelete && path == fleetKeyPath(api, toks[2].ID):
			return "503"
		}
		return ""
	})
	run := proxiedRun(t, api, p, "", `kind = "fleet"`+"\n    name_prefix = \"bulk-\"")
	out, err := run.run("apply", "-invoke=action.cmdop_revoke_tokens.x", "-auto-approve", "-input=false", "-no-color")
	if err == nil {
		t.Fatalf("the invocation succeeded although two revocations failed:\n%s", out)
	}
	t.Logf("the action reported:\n%s", out)
	expectContains(t, out, "summary: revoked 2, already revoked 0, failed 2.", "Error revoking tokens with cmdop_revoke_tokens",
		"2 of the selected token(s) could not be revoked, or may not have been (2 were, 0 already had been)",
		`fleet token "bulk-2"`, "The proxy forbids this call.", "request ID proxy-403",
		`fleet token "bulk-3"`, "still active after the revocation failed")
	if err := api.expectStatus(map[*cmdopapi.Token]string{
		toks[0]: cmdopapi.StatusRevoked, toks[1]: cmdopapi.StatusActive, toks[2]: cmdopapi.StatusActive, toks[3]: cmdopapi.StatusRevoked,
	}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []*cmdopapi.Token{toks[0], toks[3]} {
		reqID, err := api.revokedBy(tok, api.adminTokenID(t))
		if err != nil {
			t.Fatal(err)
		}
		expectContains(t, out, reqID)
	}
}

// Lost answers: a DELETE whose first answer is lost and whose retry
// succeeds reports the request ID of the audit log's token.revoked (the
// first attempt's), not the retry's; a DELETE that never gets an answer is
// read back and reported revoked; one whose read-back fails too is "may
// not be revoked", not "revoked" and not a bare EOF.
func TestAccRevokeTokensAction_lostAnswers(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	once := api.createToken(api.FleetID(), "lost-once", nil)
	always := api.createToken(api.FleetID(), "lost-always", nil)
	unknown := api.createToken(api.FleetID(), "lost-unknown", nil)
	p := newFaultProxy(t, api, func(method, path string, seen int) string {
		switch {
		case method == http.MethodDelete && path == fleetKeyPath(api, once.ID) && seen == 0:
			return "drop"
		case method == http.MethodDelete && (path == fleetKeyPath(api, always.ID) || path == fleetKeyPath(api, unknown.ID)):
			return "drop"
		case method == http.MethodGet && path == fleetKeyPath(api, unknown.ID):
			return "503"
		}
		return ""
	})
	run := proxiedRun(t, api, p, "", `kind = "fleet"`+"\n    name_prefix = \"lost-\"")
	out, err := run.run("apply", "-invoke=action.cmdop_revoke_tokens.x", "-auto-approve", "-input=false", "-no-color")
	if err == nil {
		t.Fatalf("the invocation succeeded although one outcome is unknown:\n%s", out)
	}
	t.Logf("the action reported:\n%s", out)
	expectContains(t, out, "summary: revoked 2, already revoked 0, failed 1.",
		`Revoked fleet token "lost-always"`, "read back as revoked",
		`fleet token "lost-unknown"`, "may not be revoked: check it")
	admin := api.adminTokenID(t)
	for _, tok := range []*cmdopapi.Token{once, always} {
		reqID, err := api.revokedBy(tok, admin)
		if err != nil {
			t.Fatal(err)
		}
		// In the progress line and in the summary.
		if n := strings.Count(out, reqID); n != 2 {
			t.Fatalf("the output names the audit log's request ID %s of %q %d times, want 2", reqID, tok.Name, n)
		}
	}
	ids := p.answered(http.MethodDelete, fleetKeyPath(api, once.ID))
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("cmdop-local answered the DELETEs of lost-once with request IDs %v, want two different ones", ids)
	}
	if strings.Contains(out, ids[1]) {
		t.Fatalf("the output names the retry's request ID %s, which the audit log does not know", ids[1])
	}
	// Dropped, so cmdop-local did revoke it: the report said "may not be".
	if got := api.token(api.FleetID(), unknown.ID).Status; got != cmdopapi.StatusRevoked {
		t.Fatalf("lost-unknown is %s", got)
	}
}

// A listing failure in the second place the action looks (the fleet, after
// the personal tokens) revokes nothing, not even what the first listing
// matched.
func TestAccRevokeTokensAction_secondListingFails(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	personal := api.createToken("", "leak-personal", nil)
	fleetTok := api.createToken(api.FleetID(), "leak-fleet", nil)
	p := newFaultProxy(t, api, func(method, path string, _ int) string {
		if method == http.MethodGet && path == "/api/fleets/"+api.FleetID()+"/api-keys" {
			return "403"
		}
		return ""
	})
	run := proxiedRun(t, api, p, "", `name_prefix = "leak-"`)
	api.srv.ResetStats()
	out, err := run.run("apply", "-invoke=action.cmdop_revoke_tokens.x", "-auto-approve", "-input=false", "-no-color")
	if err == nil {
		t.Fatalf("the invocation succeeded:\n%s", out)
	}
	expectContains(t, out, "Error listing fleet tokens for cmdop_revoke_tokens", "cmdop_revoke_tokens revoked nothing")
	if n := api.deletes(); n != 0 {
		t.Fatalf("%d DELETEs, want 0", n)
	}
	if s := api.srv.Stats(); s.ByRoute["GET /api/account/api-tokens"] == 0 {
		t.Fatalf("the personal tokens were never listed: the failure was not in the second listing (%v)", s.ByRoute)
	}
	api.expectAllActive(t, personal, fleetTok)
}

// Who-am-I failing: the action cannot tell which token is its own, so it
// revokes nothing.
func TestAccRevokeTokensAction_whoAmIFails(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	tok := api.createToken(api.FleetID(), "leak-1", nil)
	p := newFaultProxy(t, api, func(method, path string, _ int) string {
		if method == http.MethodGet && path == "/api/account" {
			return "503"
		}
		return ""
	})
	// With include_self too: the provider's token could not be kept last.
	for _, sel := range []string{`name_prefix = "leak-"`, "name_prefix = \"leak-\"\n    include_self = true"} {
		run := proxiedRun(t, api, p, "", sel)
		api.srv.ResetStats()
		out, err := run.run("apply", "-invoke=action.cmdop_revoke_tokens.x", "-auto-approve", "-input=false", "-no-color")
		if err == nil {
			t.Fatalf("the invocation (%s) succeeded:\n%s", sel, out)
		}
		expectContains(t, out, "Error identifying the provider's own token for cmdop_revoke_tokens", "so it revoked nothing")
		if n := api.deletes(); n != 0 {
			t.Fatalf("%s: %d DELETEs, want 0", sel, n)
		}
		api.expectAllActive(t, tok)
	}
}

// all = true, really invoked, with include_self and a provider that
// authenticates with a fleet token: every fleet token of the fleet is
// revoked, max_revocations does not bound it, and the provider's own token
// is revoked last, after every other, in the audit log's sequence.
func TestAccRevokeTokensAction_allWithSelfLast(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	self := api.createToken(api.FleetID(), "ops", []string{"permissions:manage", "machines:read"})
	var others []*cmdopapi.Token
	for i := 1; i <= 3; i++ {
		others = append(others, api.createToken(api.FleetID(), fmt.Sprintf("fleet-%d", i), nil))
	}
	personal := api.createToken("", "personal", nil)
	p := newFaultProxy(t, api, func(string, string, int) string { return "" })
	run := proxiedRun(t, api, p, self.RawToken, "kind = \"fleet\"\n    all = true\n    include_self = true\n    max_revocations = 1")
	out := run.must("apply", "-invoke=action.cmdop_revoke_tokens.x", "-auto-approve", "-input=false", "-no-color")
	expectContains(t, out, "4 token(s) selected", "summary: revoked 4, already revoked 0, failed 0.")
	events, _, err := api.admin.AuditEvents(t.Context(), cmdop.AuditQuery{FleetID: api.FleetID(), Actions: []string{cmdopapi.ActionTokenRevoked}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 4 {
		t.Fatalf("%d token.revoked events, want 4", len(events))
	}
	// Newest first: the provider's own token must be the newest.
	if events[0].TokenID != self.ID {
		var order []string
		for _, e := range events {
			order = append(order, e.TokenID)
		}
		t.Fatalf("the newest token.revoked is for %s, not the provider's own token %s (newest first: %v)", events[0].TokenID, self.ID, order)
	}
	for _, tok := range append(others, self) {
		if _, err := api.revokedBy(tok, self.ID); err != nil {
			t.Fatal(err)
		}
	}
	api.expectAllActive(t, personal)
	if err := secretRejected(api.URL, self.RawToken); err != nil {
		t.Fatal(err)
	}
}
