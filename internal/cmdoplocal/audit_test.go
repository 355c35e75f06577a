package cmdoplocal_test

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// direct sends a request to the handler in-process, without a network.
func (e *env) direct(method, path, token, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

func seq(t *testing.T, id string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimPrefix(id, "evt_"))
	if err != nil {
		t.Fatalf("event id %q", id)
	}
	return n
}

func TestAuditPagingIsStableWhileAppending(t *testing.T) {
	clock := newFakeClock() // a frozen clock: ordering must then fall back to ids
	e := newEnv(t, cmdoplocal.Options{Now: clock.Now})
	for i := range 1500 {
		if i%100 == 0 {
			clock.Add(time.Millisecond)
		}
		if rec := e.direct("GET", "/api/audit/events?limit=1", e.admin, ""); rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
	}

	var items []cmdopapi.Event
	cursor := ""
	for page := 0; ; page++ {
		q := "/api/audit/events?limit=100"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		var p cmdopapi.EventPage
		e.do("GET", q, e.admin, nil).expect(t, 200, "").json(t, &p)
		mustf(t, len(p.Items) <= 100, "page of %d", len(p.Items))
		items = append(items, p.Items...)
		// New events arrive between pages; they are newer than the cursor.
		for range 3 {
			e.direct("GET", personalPath, e.admin, "")
		}
		clock.Add(time.Millisecond)
		if p.NextCursor == "" {
			break
		}
		mustf(t, len(p.Items) == 100, "short page %d with a next_cursor", len(p.Items))
		cursor = p.NextCursor
	}
	top := seq(t, items[0].ID)
	mustf(t, top >= 1500, "first page starts at %s", items[0].ID)
	mustf(t, len(items) == top, "paged %d events, want %d (no gaps, no duplicates)", len(items), top)
	for i, ev := range items {
		mustf(t, seq(t, ev.ID) == top-i, "item %d is %s, want evt %d", i, ev.ID, top-i)
		if i > 0 {
			prev := items[i-1]
			mustf(t, prev.Time.After(ev.Time) || (prev.Time.Equal(ev.Time) && prev.ID > ev.ID), "items %d,%d not strictly descending", i-1, i)
		}
	}
}

func TestAuditFiltersAndVisibility(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	ft := e.createFleetToken("f", "files:read", "permissions:manage")
	e.do("GET", fleetPath(e.fleet), ft.RawToken, nil).expect(t, 200, "")
	e.do("DELETE", fleetPath(e.fleet)+"/"+ft.ID, e.admin, nil).expect(t, 204, "")
	e.do("GET", fleetPath(e.fleet), ft.RawToken, nil).expect(t, 401, cmdopapi.CodeAuth)
	mid := e.srv.Now()
	advance(t, e.srv, time.Hour)
	_, memberTokID, member, _ := e.srv.AddMember("", cmdoplocal.RoleMember, "")
	e.do("GET", personalPath, member, nil).expect(t, 200, "")

	all := e.events(e.admin, "")
	for _, action := range cmdopapi.AuditActions {
		if action == cmdopapi.ActionTokenExpiryShortened {
			continue
		}
		mustf(t, countAction(all, action, "") > 0, "no %s event in %+v", action, all)
	}
	issued := e.events(e.admin, "action=token.issued")
	// The member's token, newest, was issued by the test controls.
	mustf(t, len(issued) == 2 && issued[1].TokenID == ft.ID && issued[1].FleetID == e.fleet &&
		issued[1].Actor.Type == cmdopapi.ActorAPIToken && issued[1].StatusCode == 201, "token.issued: %+v", issued)
	mustf(t, issued[0].TokenID == memberTokID && issued[0].FleetID == e.fleet &&
		issued[0].Actor == cmdopapi.Actor{Type: cmdopapi.ActorSystem, ID: "local-control"}, "token.issued by AddMember: %+v", issued[0])
	two := e.events(e.admin, "action=token.issued&action=token.revoked")
	mustf(t, len(two) == 3, "two actions: %+v", two)
	byToken := e.events(e.admin, "token_id="+ft.ID)
	mustf(t, len(byToken) > 0, "token_id filter found nothing") // an empty list would pass the loop
	for _, ev := range byToken {
		mustf(t, ev.TokenID == ft.ID, "token_id filter let %+v through", ev)
	}
	byActor := e.events(e.admin, "actor_id="+ft.ID)
	mustf(t, len(byActor) == 2, "actor_id filter: %+v", byActor) // token.used and auth.failed
	before := e.events(e.admin, "until="+mid.Add(time.Nanosecond).Format(time.RFC3339Nano))
	after := e.events(e.admin, "since="+mid.Add(time.Nanosecond).Format(time.RFC3339Nano))
	// The events of all up to mid are before it; the later ones are the
	// member's and the queries' own.
	wantBefore := 0
	for _, ev := range all {
		if !ev.Time.After(mid) {
			wantBefore++
		}
	}
	mustf(t, wantBefore > 0 && len(before) == wantBefore, "until kept %d of %d events", len(before), wantBefore)
	mustf(t, len(after) > 0, "since found nothing")
	for _, ev := range after {
		mustf(t, ev.Time.After(mid) && (ev.Action == cmdopapi.ActionTokenUsed || ev.TokenID == memberTokID), "since let %+v through", ev)
	}

	// The member sees only their own account's events.
	mine := e.events(member, "")
	mustf(t, len(mine) > 0, "member sees nothing")
	for _, ev := range mine {
		mustf(t, ev.TokenID == memberTokID, "member sees %+v", ev)
	}
	e.do("GET", "/api/audit/events?fleet_id="+e.fleet, member, nil).expect(t, 403, cmdopapi.CodePermission)
	e.do("GET", "/api/audit/events?fleet_id=nope", e.admin, nil).expect(t, 404, cmdopapi.CodeNotFound)
	fleetOnly := e.events(e.admin, "fleet_id="+e.fleet)
	mustf(t, len(fleetOnly) > 0, "fleet_id filter found nothing")
	for _, ev := range fleetOnly {
		mustf(t, ev.FleetID == e.fleet, "fleet_id filter let %+v through", ev)
	}

	r := e.do("GET", "/api/audit/events?action=token.exploded", e.admin, nil).expect(t, 422, cmdopapi.CodeValidation)
	for _, a := range cmdopapi.AuditActions {
		mustf(t, strings.Contains(r.errBody(t).Message, a), "message lacks %s: %s", a, r.body)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "cursor=%%%", "cursor=Zm9v", "since=yesterday", "until=1"} {
		e.do("GET", "/api/audit/events?"+q, e.admin, nil).expect(t, 422, cmdopapi.CodeValidation)
	}
	var p cmdopapi.EventPage
	e.do("GET", "/api/audit/events", e.admin, nil).expect(t, 200, "").json(t, &p)
	mustf(t, len(p.Items) <= 100 && p.NextCursor == "", "default page: %d items, cursor %q", len(p.Items), p.NextCursor)
}

// Paging through many events returns every one of them, and a filter that
// matches one event at the far end of the log finds it. How fast is not
// asserted here (a wall-clock budget fails on a busy machine and proves
// little): TestAuditQueriesUseIndexes holds each query to an index walk,
// and make bench-local measures the latency.
func TestAuditManyEventsPage(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	n := 10000
	if raceEnabled {
		n = 2000 // the race detector slows SQLite about tenfold
	}
	// The one rare event, the oldest but the seeds.
	tok := e.createFleetToken("rare", "machines:read")
	soon := e.srv.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	e.do("PATCH", fleetPath(e.fleet)+"/"+tok.ID, e.admin, `{"expires_at":"`+soon+`"}`).expect(t, 200, "")
	for range n {
		e.direct("GET", "/api/audit/events?limit=1&action=token.issued", e.admin, "")
	}
	total := 0
	cursor := ""
	seen := map[string]bool{}
	for {
		rec := e.direct("GET", "/api/audit/events?limit=1000&cursor="+cursor, e.admin, "")
		var p cmdopapi.EventPage
		(&resp{status: rec.Code, body: rec.Body.Bytes()}).expect(t, 200, "").json(t, &p)
		for _, ev := range p.Items {
			mustf(t, !seen[ev.ID], "event %s paged twice", ev.ID)
			seen[ev.ID] = true
		}
		total += len(p.Items)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	mustf(t, total >= n+2, "paged %d events, want at least the %d reads, the issue and the shortening", total, n)
	rec := e.direct("GET", "/api/audit/events?limit=1000&action=token.expiry_shortened", e.admin, "")
	var p cmdopapi.EventPage
	(&resp{status: rec.Code, body: rec.Body.Bytes()}).expect(t, 200, "").json(t, &p)
	mustf(t, len(p.Items) == 1 && p.Items[0].TokenID == tok.ID && p.NextCursor == "",
		"the rare filter found %d events (cursor %q), want the one shortening of %s", len(p.Items), p.NextCursor, tok.ID)
}

// TestNoisyCallerKeepsOthersTrail: a machines:read token of another fleet
// floods who-am-I far beyond the retention. The CI token's token.used and
// auth.failed events remain, through the API, whether the bound is per
// collection or the global cap, in memory and on disk; the noisy fleet's
// own events are the ones pruned.
func TestNoisyCallerKeepsOthersTrail(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]cmdoplocal.Retention{
		"per collection": {MaxEvents: 50, MaxTotal: -1},
		"global cap":     {MaxEvents: -1, MaxTotal: 60},
	} {
		for _, state := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, state %v", name, state), func(t *testing.T) {
				t.Parallel()
				opts := cmdoplocal.Options{AuditRetention: r}
				if state {
					opts.StatePath = filepath.Join(t.TempDir(), "state.db")
				}
				e := newEnv(t, opts)
				ci := e.createFleetToken("ci", "files:read", "permissions:manage")
				for range 3 {
					e.do("GET", fleetPath(e.fleet), ci.RawToken, nil).expect(t, 200, "")
				}
				e.do("DELETE", fleetPath(e.fleet)+"/"+ci.ID, e.admin, nil).expect(t, 204, "")
				e.do("GET", fleetPath(e.fleet), ci.RawToken, nil).expect(t, 401, cmdopapi.CodeAuth)

				other, err := e.srv.AddFleet("")
				if err != nil {
					t.Fatal(err)
				}
				noisy := e.do("POST", fleetPath(other), e.admin, map[string]any{"name": "noisy", "scopes": []string{"machines:read"}}).expect(t, 201, "").token(t)
				const flood = 300
				for range flood {
					e.do("GET", "/api/account", noisy.RawToken, nil).expect(t, 200, "")
				}

				trail := e.events(e.admin, "token_id="+ci.ID)
				mustf(t, countAction(trail, cmdopapi.ActionTokenUsed, ci.ID) == 3, "the CI token's token.used events: %d of 3", countAction(trail, cmdopapi.ActionTokenUsed, ci.ID))
				mustf(t, countAction(trail, cmdopapi.ActionAuthFailed, ci.ID) == 1, "the CI token's auth.failed event is gone")
				mustf(t, countAction(trail, cmdopapi.ActionTokenIssued, ci.ID) == 1 && countAction(trail, cmdopapi.ActionTokenRevoked, ci.ID) == 1, "the CI token's issue and revocation: %+v", trail)
				// The flood itself was pruned: the bound holds.
				used := countAction(e.events(e.admin, "fleet_id="+other), cmdopapi.ActionTokenUsed, noisy.ID)
				mustf(t, used > 0 && used < flood, "the noisy token kept %d of its %d token.used events", used, flood)
				if r.MaxEvents > 0 {
					mustf(t, used <= r.MaxEvents, "the noisy fleet kept %d events, its bound is %d", used, r.MaxEvents)
				} else {
					all := len(e.events(e.admin, ""))
					mustf(t, all <= r.MaxTotal+r.MaxTotal/100+2, "%d events kept, the cap is %d", all, r.MaxTotal) // +2: the two listings' own
				}
			})
		}
	}
}
