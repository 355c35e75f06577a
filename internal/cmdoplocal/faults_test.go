package cmdoplocal_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

func TestFaultScript(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	// A fresh connection per request: Go's transport would otherwise retry
	// some requests on a reused connection that was dropped.
	e.client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	e.do("POST", "/_local/faults", e.ctl, `{"script":["unavailable","drop","rate_limit","none"]}`).expect(t, 200, "")
	var cfg struct {
		Script []string `json:"script"`
	}
	e.do("GET", "/_local/faults", e.ctl, nil).expect(t, 200, "").json(t, &cfg)
	mustf(t, len(cfg.Script) == 4, "local requests consumed the script: %v", cfg.Script)
	e.srv.ResetStats()

	e.do("POST", fleetPath(e.fleet), e.admin, `{"name":"unavailable","scopes":["files:read"]}`).expect(t, 503, cmdopapi.CodeServer)
	if r, err := e.try("POST", fleetPath(e.fleet), e.admin, `{"name":"dropped","scopes":["files:read"]}`); err == nil {
		t.Fatalf("a dropped request got a response: %d %s", r.status, r.body)
	}
	r := e.do("GET", fleetPath(e.fleet), e.admin, nil).expect(t, 429, cmdopapi.CodeRateLimit)
	mustf(t, r.header.Get("Retry-After") == "1", "Retry-After %q", r.header.Get("Retry-After"))

	var page cmdopapi.TokenPage
	e.do("GET", fleetPath(e.fleet), e.admin, nil).expect(t, 200, "").json(t, &page) // "none"
	mustf(t, page.Total == 1 && page.Items[0].Name == "dropped", "after the script: %+v", page.Items)
	issued := e.events(e.admin, "action=token.issued")
	mustf(t, len(issued) == 1 && issued[0].TokenID == page.Items[0].ID && issued[0].StatusCode == 201, "issued events: %+v", issued)

	st := e.srv.Stats()
	mustf(t, st.Faults == cmdoplocal.FaultCounts{Unavailable: 1, Drop: 1, RateLimit: 1}, "fault counts %+v", st.Faults)
	mustf(t, st.ByStatus["503"] == 1 && st.ByStatus["429"] == 1 && st.ByStatus["201"] == 0, "by_status %v", st.ByStatus)
	mustf(t, len(e.srv.Faults().Script) == 0, "script left: %v", e.srv.Faults().Script)

	e.do("POST", "/_local/faults", e.ctl, `{"script":["explode"]}`).expect(t, 422, cmdopapi.CodeValidation)
	e.do("POST", "/_local/faults", e.ctl, `{"fail_rate":1.5}`).expect(t, 422, cmdopapi.CodeValidation)
	e.do("POST", "/_local/faults", e.ctl, `{"latency":"soon"}`).expect(t, 422, cmdopapi.CodeValidation)
	e.do("POST", "/_local/faults", e.ctl, `{"modes":["drop"],"bogus":1}`).expect(t, 422, cmdopapi.CodeValidation)
}

func TestFailRateIsSeeded(t *testing.T) {
	statuses := func() []int {
		e := newEnv(t, cmdoplocal.Options{Seed: 42})
		if err := e.srv.SetFaults(cmdoplocal.FaultConfig{FailRate: 0.5, Modes: []string{cmdoplocal.FaultUnavailable, cmdoplocal.FaultRateLimit}}); err != nil {
			t.Fatal(err)
		}
		var out []int
		for range 40 {
			out = append(out, e.direct("GET", personalPath, e.admin, "").Code)
		}
		return out
	}
	a, b := statuses(), statuses()
	counts := map[int]int{}
	for i := range a {
		mustf(t, a[i] == b[i], "request %d: %d vs %d with the same seed", i, a[i], b[i])
		counts[a[i]]++
	}
	mustf(t, counts[200] > 0 && counts[503] > 0 && counts[429] > 0, "fail_rate 0.5 gave %v", counts)

	e := newEnv(t, cmdoplocal.Options{FailRate: 1})
	if err := e.srv.SetFaults(cmdoplocal.FaultConfig{FailRate: 1, Modes: []string{cmdoplocal.FaultUnavailable}}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		e.do("GET", personalPath, e.admin, nil).expect(t, 503, cmdopapi.CodeServer)
	}
	e.do("GET", "/_local/stats", e.ctl, nil).expect(t, 200, "") // controls are never faulted
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{RateLimit: 2})
	limited := 0
	for range 6 {
		r := e.do("GET", personalPath, e.admin, nil)
		if r.status == 429 {
			r.expect(t, 429, cmdopapi.CodeRateLimit)
			n, err := strconv.Atoi(r.header.Get("Retry-After"))
			mustf(t, err == nil && n >= 1, "Retry-After %q", r.header.Get("Retry-After"))
			limited++
		}
	}
	mustf(t, limited >= 3, "only %d of 6 requests limited at 2/s", limited)
	for range 5 {
		e.do("GET", "/_local/stats", e.ctl, nil).expect(t, 200, "")
	}
	mustf(t, e.srv.Stats().Faults.RateLimit == limited, "stats %+v", e.srv.Stats().Faults)

	e.do("POST", "/_local/faults", e.ctl, `{"rate_limit":0}`).expect(t, 200, "")
	for range 5 {
		e.do("GET", personalPath, e.admin, nil).expect(t, 200, "")
	}
}

func TestLatency(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{Latency: 60 * time.Millisecond})
	start := time.Now()
	e.do("GET", personalPath, e.admin, nil).expect(t, 200, "")
	mustf(t, time.Since(start) >= 60*time.Millisecond, "no latency")
	var cfg struct {
		Latency string `json:"latency"`
	}
	e.do("GET", "/_local/faults", e.ctl, nil).expect(t, 200, "").json(t, &cfg)
	mustf(t, cfg.Latency == "60ms", "latency %q", cfg.Latency)
}

func TestStats(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	tok := e.createFleetToken("s", "files:read")
	e.do("DELETE", "/_local/stats", e.ctl, nil).expect(t, 204, "")

	e.do("GET", fleetPath(e.fleet), e.admin, nil).expect(t, 200, "")
	e.do("GET", fleetPath(e.fleet)+"/"+tok.ID, e.admin, nil).expect(t, 200, "")
	e.do("PATCH", fleetPath(e.fleet)+"/"+tok.ID, e.admin, map[string]any{"expires_at": e.srv.Now().Add(time.Hour)}).expect(t, 200, "")
	e.do("DELETE", fleetPath(e.fleet)+"/"+tok.ID, e.admin, nil).expect(t, 204, "")
	e.do("POST", personalPath, e.admin, `{}`).expect(t, 422, "")
	e.do("GET", "/api/audit/events", "", nil).expect(t, 401, "")
	e.do("GET", "/api/nowhere", e.admin, nil).expect(t, 404, "")

	var st cmdoplocal.Stats
	e.do("GET", "/_local/stats", e.ctl, nil).expect(t, 200, "").json(t, &st)
	want := map[string]int{
		"GET /api/fleets/{fleet_id}/api-keys":             1,
		"GET /api/fleets/{fleet_id}/api-keys/{key_id}":    1,
		"PATCH /api/fleets/{fleet_id}/api-keys/{key_id}":  1,
		"DELETE /api/fleets/{fleet_id}/api-keys/{key_id}": 1,
		"POST /api/account/api-tokens":                    1,
		"GET /api/audit/events":                           1,
	}
	mustf(t, st.Total == 7 && st.Writes == 3, "total %d writes %d", st.Total, st.Writes)
	mustf(t, len(st.ByRoute) == len(want), "by_route %v", st.ByRoute)
	for k, v := range want {
		mustf(t, st.ByRoute[k] == v, "by_route[%q] = %d; all %v", k, st.ByRoute[k], st.ByRoute)
	}
	mustf(t, st.ByMethod["GET"] == 4 && st.ByMethod["PATCH"] == 1 && st.ByMethod["DELETE"] == 1 && st.ByMethod["POST"] == 1, "by_method %v", st.ByMethod)
	mustf(t, st.ByStatus["200"] == 3 && st.ByStatus["204"] == 1 && st.ByStatus["422"] == 1 && st.ByStatus["401"] == 1 && st.ByStatus["404"] == 1, "by_status %v", st.ByStatus)

	// The wire form has every documented key.
	var raw map[string]json.RawMessage
	e.do("GET", "/_local/stats", e.ctl, nil).expect(t, 200, "").json(t, &raw)
	for _, k := range []string{"total", "writes", "by_route", "by_method", "by_status", "faults"} {
		_, ok := raw[k]
		mustf(t, ok, "stats lack %q", k)
	}
	e.do("DELETE", "/_local/stats", e.ctl, nil).expect(t, 204, "")
	mustf(t, e.srv.Stats().Total == 0 && len(e.srv.Stats().ByRoute) == 0, "stats not reset")
}

func TestConcurrentRequests(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				r, err := e.try("POST", fleetPath(e.fleet), e.admin, `{"name":"c","scopes":["files:read"]}`,
					"Idempotency-Key", "g"+strconv.Itoa(g)+"-"+strconv.Itoa(i))
				if err != nil || r.status != 201 {
					errs <- "create failed"
					return
				}
				var tok cmdopapi.Token
				_ = json.Unmarshal(r.body, &tok)
				if r, err := e.try("DELETE", fleetPath(e.fleet)+"/"+tok.ID, e.admin, nil); err != nil || r.status != 204 {
					errs <- "delete failed"
					return
				}
				if r, err := e.try("GET", "/api/audit/events?limit=5", e.admin, nil); err != nil || r.status != 200 {
					errs <- "audit failed"
					return
				}
				e.srv.Stats()
				e.srv.Now()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	mustf(t, fleetTotal(e) == 90, "fleet tokens %d, want 90", fleetTotal(e))
}
