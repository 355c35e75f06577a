package cmdop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// env is an in-process cmdop-local whose traffic is held to the contract:
// every test here is also a contract test of the client and the server.
type env struct {
	t     *testing.T
	api   *localtest.API
	srv   *cmdoplocal.Server
	url   string
	admin *cmdop.Client
	fleet string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	api := localtest.Start(t, cmdoplocal.Options{Seed: 1})
	t.Cleanup(func() {
		if api.Checked() == 0 {
			t.Errorf("no API exchange was checked against the contract")
		}
	})
	e := &env{t: t, api: api, srv: api.Server, url: api.URL, fleet: api.FleetID}
	e.admin = e.client(api.AdminToken, 0)
	return e
}

// client returns a client with fast backoff for tests.
func (e *env) client(token string, retries int) *cmdop.Client {
	e.t.Helper()
	return e.api.Client(e.t, token, retries)
}

func (e *env) create(c *cmdop.Client, fleet, name string, scopes ...string) *cmdopapi.Token {
	e.t.Helper()
	if len(scopes) == 0 {
		scopes = []string{"machines:read"}
	}
	tok, err := c.CreateToken(context.Background(), fleet, cmdopapi.CreateTokenRequest{Name: name, Scopes: scopes}, "")
	if err != nil {
		e.t.Fatalf("creating %s: %v", name, err)
	}
	return tok
}

func (e *env) faults(script ...string) {
	e.t.Helper()
	if err := e.srv.SetFaults(cmdoplocal.FaultConfig{Script: script}); err != nil {
		e.t.Fatal(err)
	}
}

func expectCode(t *testing.T, err error, sentinel *cmdop.Error, status int) *cmdop.Error {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("want a %s error, got %v", sentinel.Code, err)
	}
	apiErr, _ := cmdop.AsError(err)
	if apiErr.StatusCode != status || apiErr.RequestID == "" || apiErr.Message == "" {
		t.Fatalf("want HTTP %d with a message and request ID, got %+v", status, apiErr)
	}
	return apiErr
}

func TestClient_errorCodes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("auth", func(t *testing.T) {
		_, err := e.client("cmdop_"+strings.Repeat("x", 40), 0).ListTokens(ctx, e.fleet, 0, 10)
		_ = expectCode(t, err, cmdop.ErrAuth, 401)
		if strings.Contains(err.Error(), strings.Repeat("x", 40)) {
			t.Fatal("the error echoes the token")
		}
	})
	t.Run("permission", func(t *testing.T) {
		ft := e.create(e.admin, e.fleet, "no-manage", "machines:read")
		_, err := e.client(ft.RawToken, 0).ListTokens(ctx, e.fleet, 0, 10)
		apiErr := expectCode(t, err, cmdop.ErrPermission, 403)
		if !slices.Equal(apiErr.MissingScopes(), []string{"permissions:manage"}) {
			t.Fatalf("missing scopes %v", apiErr.MissingScopes())
		}
	})
	t.Run("not_found", func(t *testing.T) {
		_, err := e.admin.GetToken(ctx, e.fleet, "00000000-0000-4000-8000-000000000000")
		_ = expectCode(t, err, cmdop.ErrNotFound, 404)
	})
	t.Run("conflict", func(t *testing.T) {
		in := cmdopapi.CreateTokenRequest{Name: "a", Scopes: []string{"machines:read"}}
		if _, err := e.admin.CreateToken(ctx, e.fleet, in, "same-key"); err != nil {
			t.Fatal(err)
		}
		in.Name = "b"
		_, err := e.admin.CreateToken(ctx, e.fleet, in, "same-key")
		_ = expectCode(t, err, cmdop.ErrConflict, 409)
	})
	t.Run("validation", func(t *testing.T) {
		_, err := e.admin.CreateToken(ctx, e.fleet, cmdopapi.CreateTokenRequest{Name: "v", Scopes: []string{"machines:fly"}}, "")
		apiErr := expectCode(t, err, cmdop.ErrValidation, 422)
		for _, s := range cmdopapi.Scopes {
			if !strings.Contains(apiErr.Message, s) {
				t.Fatalf("the 422 does not list the valid scope %s: %s", s, apiErr.Message)
			}
		}
	})
	t.Run("rate_limit", func(t *testing.T) {
		e.faults("rate_limit")
		_, err := e.client(e.srv.AdminToken(), -1).ListTokens(ctx, e.fleet, 0, 1)
		_ = expectCode(t, err, cmdop.ErrRateLimit, 429)
	})
	t.Run("server", func(t *testing.T) {
		e.faults("unavailable")
		_, err := e.client(e.srv.AdminToken(), -1).ListTokens(ctx, e.fleet, 0, 1)
		_ = expectCode(t, err, cmdop.ErrServer, 503)
	})
}

func TestClient_retries429HonouringRetryAfter(t *testing.T) {
	e := newEnv(t)
	e.faults("rate_limit")
	start := time.Now()
	if _, err := e.admin.ListTokens(context.Background(), e.fleet, 0, 1); err != nil {
		t.Fatal(err)
	}
	// The server says Retry-After: 1; the client's own backoff here is 1-5ms.
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("retried after %v, before the server's Retry-After of 1s", waited)
	}
	if st := e.srv.Stats(); st.Total != 2 || st.Faults.RateLimit != 1 {
		t.Fatalf("stats %+v: want one 429 and one retry", st)
	}
}

func TestClient_retries503(t *testing.T) {
	e := newEnv(t)
	e.faults("unavailable", "unavailable")
	tok, err := e.admin.CreateToken(context.Background(), e.fleet, cmdopapi.CreateTokenRequest{Name: "after-503", Scopes: []string{"machines:read"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := e.srv.Stats(); st.Writes != 3 || st.Faults.Unavailable != 2 {
		t.Fatalf("stats %+v: want two 503s then a success", st)
	}
	if got := countNamed(t, e, "after-503"); got != 1 || tok.RawToken == "" {
		t.Fatalf("%d tokens minted, want 1", got)
	}
}

// A connection dropped after the server committed the create: the retry
// carries the same Idempotency-Key, so exactly one token exists, and the
// client still gets its secret.
func TestClient_droppedAfterCommitMintsOnce(t *testing.T) {
	e := newEnv(t)
	e.faults("drop")
	tok, err := e.admin.CreateToken(context.Background(), e.fleet, cmdopapi.CreateTokenRequest{Name: "dropped", Scopes: []string{"machines:read"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := e.srv.Stats(); st.Faults.Drop != 1 || st.Writes != 2 {
		t.Fatalf("stats %+v: want one dropped create and one retry", st)
	}
	if got := countNamed(t, e, "dropped"); got != 1 {
		t.Fatalf("%d tokens minted, want exactly 1", got)
	}
	if _, err := e.client(tok.RawToken, 0).Account(context.Background()); err != nil {
		t.Fatalf("the replayed secret does not work: %v", err)
	}
}

func TestClient_connectionErrorsAreRetried(t *testing.T) {
	e := newEnv(t)
	e.faults("drop", "drop")
	if _, err := e.admin.ListTokens(context.Background(), e.fleet, 0, 1); err != nil {
		t.Fatal(err)
	}
	e.faults("drop", "drop")
	_, err := e.client(e.srv.AdminToken(), 1).ListTokens(context.Background(), e.fleet, 0, 1)
	if err == nil || !strings.Contains(err.Error(), "could not reach the CMDOP API") {
		t.Fatalf("want a connection error once retries run out, got %v", err)
	}
}

func countNamed(t *testing.T, e *env, name string) int {
	t.Helper()
	all, err := e.admin.ListAllTokens(context.Background(), e.fleet)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tok := range all {
		if tok.Name == name {
			n++
		}
	}
	return n
}

func TestClient_paginationOver200Tokens(t *testing.T) {
	e := newEnv(t)
	const n = 450
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			e.create(e.admin, e.fleet, fmt.Sprintf("t%03d", i))
		}()
	}
	wg.Wait()
	e.srv.ResetStats()
	all, err := e.admin.ListAllTokens(context.Background(), e.fleet)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, tok := range all {
		if seen[tok.ID] {
			t.Fatalf("token %s listed twice", tok.ID)
		}
		seen[tok.ID] = true
		if i > 0 && (tok.CreatedAt.Before(all[i-1].CreatedAt) || (tok.CreatedAt.Equal(all[i-1].CreatedAt) && tok.ID < all[i-1].ID)) {
			t.Fatalf("not ordered by created_at then id at %d", i)
		}
	}
	if len(all) != n {
		t.Fatalf("listed %d tokens, want %d", len(all), n)
	}
	if got := e.srv.Stats().ByRoute["GET /api/fleets/{fleet_id}/api-keys"]; got != 3 {
		t.Fatalf("%d list pages for %d tokens, want 3 of 200", got, n)
	}
}

func TestClient_scopeSubsetRule(t *testing.T) {
	e := newEnv(t)
	// permissions:manage lets it issue tokens at all.
	narrow := e.create(e.admin, "", "narrow", "machines:read", "files:read", "permissions:manage")
	c := e.client(narrow.RawToken, 0)
	_, err := c.CreateToken(context.Background(), "", cmdopapi.CreateTokenRequest{Name: "wide", Scopes: []string{"files:read", "files:write", "agent:invoke"}}, "")
	apiErr := expectCode(t, err, cmdop.ErrPermission, 403)
	if got := apiErr.MissingScopes(); !slices.Equal(sorted(got), []string{"agent:invoke", "files:write"}) {
		t.Fatalf("missing scopes %v", got)
	}
	if _, err := c.CreateToken(context.Background(), "", cmdopapi.CreateTokenRequest{Name: "subset", Scopes: []string{"files:read"}}, ""); err != nil {
		t.Fatalf("a subset of the caller's scopes must be allowed: %v", err)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestClient_401AfterRevocationAndExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	revoked := e.create(e.admin, "", "revoked")
	if err := e.admin.RevokeToken(ctx, "", revoked.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.RevokeToken(ctx, "", revoked.ID); err != nil {
		t.Fatalf("revoking twice must succeed: %v", err)
	}
	_, err := e.client(revoked.RawToken, 0).ListAuditEvents(ctx, cmdop.AuditQuery{}, "", 1)
	_ = expectCode(t, err, cmdop.ErrAuth, 401)

	days := 30
	expiring, err := e.admin.CreateToken(ctx, "", cmdopapi.CreateTokenRequest{Name: "expiring", Scopes: []string{"permissions:manage"}, ExpiresInDays: &days}, "")
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(expiring.RawToken, 0)
	if _, err := c.Account(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.AdvanceClock(31 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListAuditEvents(ctx, cmdop.AuditQuery{}, "", 1)
	_ = expectCode(t, err, cmdop.ErrAuth, 401)
	if tok, _ := e.admin.GetToken(ctx, "", expiring.ID); tok.Status != cmdopapi.StatusExpired {
		t.Fatalf("status %s, want expired", tok.Status)
	}
	// The client's idea of server time follows the server's clock.
	if skew := c.ServerNow().Sub(e.srv.Now()); skew < -2*time.Second || skew > 2*time.Second {
		t.Fatalf("ServerNow is %v off the server's clock", skew)
	}
	failed, _, err := e.admin.AuditEvents(ctx, cmdop.AuditQuery{TokenID: expiring.ID, Actions: []string{cmdopapi.ActionAuthFailed}}, 10)
	if err != nil || len(failed) != 1 {
		t.Fatalf("want one auth.failed event for the expired token, got %d (%v)", len(failed), err)
	}
}

func TestClient_patchOnlyShortens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	days := 30
	tok, err := e.admin.CreateToken(ctx, e.fleet, cmdopapi.CreateTokenRequest{Name: "p", Scopes: []string{"machines:read"}, ExpiresInDays: &days}, "")
	if err != nil {
		t.Fatal(err)
	}
	now := e.srv.Now()
	_, err = e.admin.ShortenExpiry(ctx, e.fleet, tok.ID, tok.ExpiresAt.Add(time.Hour))
	_ = expectCode(t, err, cmdop.ErrValidation, 422)
	_, err = e.admin.ShortenExpiry(ctx, e.fleet, tok.ID, now.Add(-time.Minute))
	_ = expectCode(t, err, cmdop.ErrValidation, 422)
	short, err := e.admin.ShortenExpiry(ctx, e.fleet, tok.ID, now.Add(2*time.Hour))
	if err != nil || !short.ExpiresAt.Equal(now.Add(2*time.Hour).UTC().Truncate(time.Microsecond)) && short.ExpiresAt.Sub(now.Add(2*time.Hour)).Abs() > time.Second {
		t.Fatalf("shortening: %v, %+v", err, short)
	}
	if _, err := e.admin.ShortenExpiry(ctx, e.fleet, tok.ID, *short.ExpiresAt); err != nil {
		t.Fatalf("repeating the same expiry must succeed (a retried PATCH): %v", err)
	}
}

// Audit paging: newest first, no duplicates and no gaps across pages, even
// while new events arrive between pages.
func TestClient_auditOrderingAndCursor(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for range 1300 { // each authenticated call logs token.used
		if _, err := e.admin.ListTokens(ctx, e.fleet, 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	e.srv.ResetStats()
	events, truncated, err := e.admin.AuditEvents(ctx, cmdop.AuditQuery{Actions: []string{cmdopapi.ActionTokenUsed}}, 1250)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1250 || !truncated {
		t.Fatalf("got %d events (truncated %v), want 1250 and truncated", len(events), truncated)
	}
	seen := map[string]bool{}
	for i, ev := range events {
		if seen[ev.ID] {
			t.Fatalf("event %s twice", ev.ID)
		}
		seen[ev.ID] = true
		if i > 0 && (ev.Time.After(events[i-1].Time) || (ev.Time.Equal(events[i-1].Time) && ev.ID > events[i-1].ID)) {
			t.Fatalf("not newest first at %d", i)
		}
		if ev.UserAgent != "terraform-provider-cmdop/test" || ev.RequestID == "" {
			t.Fatalf("event %+v lacks the user agent or request ID", ev)
		}
	}
	if pages := e.srv.Stats().ByRoute["GET /api/audit/events"]; pages != 2 {
		t.Fatalf("%d pages for 1250 events, want 2", pages)
	}
	// Everything, exactly: not truncated.
	all, truncated, err := e.admin.AuditEvents(ctx, cmdop.AuditQuery{Actions: []string{cmdopapi.ActionTokenIssued}}, 10)
	if err != nil || truncated || len(all) != 0 {
		t.Fatalf("issued events: %d, truncated %v, %v", len(all), truncated, err)
	}
}

func TestClient_userAgentAndNonEnvelopeErrors(t *testing.T) {
	var ua string
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua = r.UserAgent()
		if r.Header.Get("Authorization") != "Bearer cmdop_probe" {
			t.Errorf("authorization header %q", r.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(`not json`))
	}))
	defer probe.Close()
	c, _ := cmdop.New(cmdop.Config{BaseURL: probe.URL, Token: "cmdop_probe", Version: "1.2.3", MaxRetries: -1})
	_, err := c.GetToken(context.Background(), "f", "x")
	if ua != "terraform-provider-cmdop/1.2.3" {
		t.Fatalf("User-Agent %q", ua)
	}
	expectCodeNoID(t, err, cmdop.ErrServer)
}

// A 404 without the API's error body (a wrong api_base_url, a proxy) is a
// server error, never "this token no longer exists".
func TestClient_bare404IsNotNotFound(t *testing.T) {
	probe := httptest.NewServer(http.NotFoundHandler())
	defer probe.Close()
	c, _ := cmdop.New(cmdop.Config{BaseURL: probe.URL + "/wrong-prefix", Token: "cmdop_probe", MaxRetries: -1})
	_, err := c.GetToken(context.Background(), "f", "00000000-0000-4000-8000-000000000000")
	if errors.Is(err, cmdop.ErrNotFound) || !errors.Is(err, cmdop.ErrServer) || !strings.Contains(err.Error(), "check that api_base_url") {
		t.Fatalf("a bare 404 gave %v", err)
	}
}

func expectCodeNoID(t *testing.T, err error, sentinel *cmdop.Error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("want %s, got %v", sentinel.Code, err)
	}
}

// Any status from 300 up is an error, even with a body that decodes.
func TestClient_status300IsAnError(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMultipleChoices)
		_, _ = w.Write([]byte(`{"id":"looks-like-a-token","name":"x"}`))
	}))
	defer hs.Close()
	c, err := cmdop.New(cmdop.Config{BaseURL: hs.URL, Token: "cmdop_" + strings.Repeat("a", 40), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := c.GetToken(context.Background(), "f", "t"); err == nil {
		t.Fatalf("a 300 answer was read as the token %+v", tok)
	}
}

// A retry is logged once, at DEBUG, with its attempt number; the first
// attempt is not a retry.
func TestClient_retriesAreLogged(t *testing.T) {
	calls := 0
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":"server","message":"busy"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"3f1b6a3e-8c2d-4e5f-9a7b-1c2d3e4f5a6b","name":"x","scopes":[],"status":"active","key_prefix":"cmdop_abcdef","fleet_id":"f","created_at":"2030-01-01T00:00:00Z"}`))
	}))
	defer hs.Close()
	c, err := cmdop.New(cmdop.Config{BaseURL: hs.URL, Token: "cmdop_" + strings.Repeat("a", 40), MaxRetries: 2,
		RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	if _, err := c.GetToken(ctx, "f", "3f1b6a3e-8c2d-4e5f-9a7b-1c2d3e4f5a6b"); err != nil {
		t.Fatal(err)
	}
	lines, err := tflogtest.MultilineJSONDecode(&out)
	if err != nil {
		t.Fatal(err)
	}
	var retries []map[string]any
	for _, l := range lines {
		if l["@message"] == "Retrying CMDOP API call" {
			retries = append(retries, l)
		}
	}
	if calls != 2 || len(retries) != 1 || retries[0]["attempt"] != float64(2) {
		t.Fatalf("%d calls, retry log lines %v; want 2 calls and one line with attempt 2", calls, retries)
	}
}
