package cmdoplocal_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

const testAdminToken = "cmdop_TestAdminToken0123456789abcdefghijklmnopq"

// fakeClock is a settable base clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a running server with its admin token.
type env struct {
	t      *testing.T
	srv    *cmdoplocal.Server
	api    *localtest.API
	url    string // contract-checked
	client *http.Client
	admin  string // the seeded admin's API token
	ctl    string // the control token of /_local/
	fleet  string
}

func newEnv(t *testing.T, opts cmdoplocal.Options) *env {
	t.Helper()
	if opts.AdminToken == "" {
		opts.AdminToken = testAdminToken
	}
	return envFor(t, localtest.Start(t, opts))
}

func envFor(t *testing.T, api *localtest.API) *env {
	srv := api.Server
	return &env{t: t, srv: srv, api: api, url: api.URL, client: api.HTTPClient(), admin: srv.AdminToken(), ctl: srv.ControlToken(), fleet: srv.FleetID()}
}

// resp is a fully read response.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request. body may be nil, a string (sent as is) or a value to encode.
func (e *env) do(method, path, token string, body any, headers ...string) *resp {
	e.t.Helper()
	r, err := e.try(method, path, token, body, headers...)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (e *env) try(method, path, token string, body any, headers ...string) (*resp, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	r := &resp{status: res.StatusCode, header: res.Header, body: data}
	checkCommonHeaders(e.t, method+" "+path, r.status, r.header, r.body)
	return r, nil
}

// checkCommonHeaders asserts what every response carries.
func checkCommonHeaders(t *testing.T, what string, status int, h http.Header, body []byte) {
	t.Helper()
	if !strings.HasPrefix(h.Get("X-Request-Id"), "req_") {
		t.Errorf("%s: X-Request-Id = %q", what, h.Get("X-Request-Id"))
	}
	if len(body) > 0 && h.Get("Content-Type") != "application/json" {
		t.Errorf("%s: Content-Type = %q", what, h.Get("Content-Type"))
	}
	if status >= 400 {
		var eb cmdopapi.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
			t.Errorf("%s: %d without a proper error envelope: %s", what, status, body)
		}
	}
}

func (r *resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r *resp) errBody(t *testing.T) cmdopapi.ErrorDetail {
	t.Helper()
	var eb cmdopapi.ErrorBody
	r.json(t, &eb)
	return eb.Error
}

// expect asserts the status (and, for errors, the error code).
func (r *resp) expect(t *testing.T, status int, code string) *resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if code != "" {
		if got := r.errBody(t).Code; got != code {
			t.Fatalf("error code = %q, want %q; body %s", got, code, r.body)
		}
	}
	return r
}

func (r *resp) token(t *testing.T) cmdopapi.Token {
	t.Helper()
	var tok cmdopapi.Token
	r.json(t, &tok)
	return tok
}

func fleetPath(fleet string) string { return "/api/fleets/" + fleet + "/api-keys" }

const personalPath = "/api/account/api-tokens"

// createFleetToken creates a fleet token with the admin token.
func (e *env) createFleetToken(name string, scopes ...string) cmdopapi.Token {
	e.t.Helper()
	return e.do("POST", fleetPath(e.fleet), e.admin, map[string]any{"name": name, "scopes": scopes}).
		expect(e.t, 201, "").token(e.t)
}

// events returns every event visible to token matching query, newest first.
func (e *env) events(token, query string) []cmdopapi.Event {
	e.t.Helper()
	var all []cmdopapi.Event
	cursor := ""
	for {
		q := query
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		var page cmdopapi.EventPage
		e.do("GET", "/api/audit/events?limit=1000&"+q, token, nil).expect(e.t, 200, "").json(e.t, &page)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

func countAction(evs []cmdopapi.Event, action, tokenID string) int {
	n := 0
	for _, ev := range evs {
		if ev.Action == action && (tokenID == "" || ev.TokenID == tokenID) {
			n++
		}
	}
	return n
}

func allScopes() []string { return append([]string(nil), cmdopapi.Scopes...) }

func mustf(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf(format, args...)
	}
}

// advance moves srv's clock forward by d.
func advance(t *testing.T, srv *cmdoplocal.Server, d time.Duration) {
	t.Helper()
	if _, err := srv.AdvanceClock(d); err != nil {
		t.Fatalf("AdvanceClock: %v", err)
	}
}
