package cmdoplocal_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

func fleetTotal(e *env) int {
	e.t.Helper()
	var page cmdopapi.TokenPage
	e.do("GET", fleetPath(e.fleet), e.admin, nil).expect(e.t, 200, "").json(e.t, &page)
	return page.Total
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	body := `{"name":"ci","scopes":["files:read"]}`
	first := e.do("POST", fleetPath(e.fleet), e.admin, body, "Idempotency-Key", "k1").expect(t, 201, "")
	again := e.do("POST", fleetPath(e.fleet), e.admin, body, "Idempotency-Key", "k1").expect(t, 201, "")
	a, b := first.token(t), again.token(t)
	mustf(t, a.ID == b.ID && a.RawToken == b.RawToken && a.RawToken != "", "replay differs: %+v vs %+v", a, b)
	mustf(t, string(first.body) == string(again.body), "replayed body differs")
	mustf(t, fleetTotal(e) == 1, "replay created a token")
	mustf(t, countAction(e.events(e.admin, "action=token.issued"), cmdopapi.ActionTokenIssued, "") == 1, "replay was audited as an issue")

	// Same key, different body or path: conflict.
	e.do("POST", fleetPath(e.fleet), e.admin, `{"name":"other","scopes":["files:read"]}`, "Idempotency-Key", "k1").expect(t, 409, cmdopapi.CodeConflict)
	e.do("POST", personalPath, e.admin, body, "Idempotency-Key", "k1").expect(t, 409, cmdopapi.CodeConflict)

	// Keys are per caller.
	mgr := e.createFleetToken("mgr", "files:read", "permissions:manage")
	c := e.do("POST", fleetPath(e.fleet), mgr.RawToken, body, "Idempotency-Key", "k1").expect(t, 201, "").token(t)
	mustf(t, c.ID != a.ID, "another caller's key replayed")

	// A failed create is not remembered.
	e.do("POST", fleetPath(e.fleet), e.admin, `{"name":""}`, "Idempotency-Key", "k2").expect(t, 422, cmdopapi.CodeValidation)
	e.do("POST", fleetPath(e.fleet), e.admin, body, "Idempotency-Key", "k2").expect(t, 201, "")

	// After ten minutes of server time the key is forgotten.
	advance(t, e.srv, 11*time.Minute)
	d := e.do("POST", fleetPath(e.fleet), e.admin, body, "Idempotency-Key", "k1").expect(t, 201, "").token(t)
	mustf(t, d.ID != a.ID, "expired key replayed")

	e.do("POST", fleetPath(e.fleet), e.admin, body, "Idempotency-Key", strings.Repeat("k", 256)).expect(t, 422, cmdopapi.CodeValidation)
}

// TestIdempotencyExpiry: a record lives from its create up to, not
// including, the end of its window, in server time; a replay at the last
// nanosecond inside works, and at the window's end the key is free again.
// A restart from the state database keeps both: the record that is still
// inside its window is still refused with its token's id (its secret was
// never stored), and it is dropped at exactly the same instant.
func TestIdempotencyExpiry(t *testing.T) {
	t.Parallel()
	const window = 10 * time.Minute
	body := `{"name":"ci","scopes":["files:read"]}`
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "in memory", true: "across a restart"}[restart], func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			opts := cmdoplocal.Options{AdminToken: testAdminToken, FleetID: "f1", Now: clk.Now}
			if restart {
				opts.StatePath = filepath.Join(t.TempDir(), "state.db")
			}
			srv, err := cmdoplocal.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			e := wrap(t, srv)
			start := clk.Now()
			first := e.do("POST", fleetPath("f1"), e.admin, body, "Idempotency-Key", "k1").expect(t, 201, "")
			orig := first.token(t)
			mustf(t, orig.CreatedAt.Equal(start), "created_at %v, want %v", orig.CreatedAt, start)
			// A second key, one minute younger: it must outlive the first.
			clk.Add(time.Minute)
			e.do("POST", fleetPath("f1"), e.admin, body, "Idempotency-Key", "k2").expect(t, 201, "")

			clk.Add(window - time.Minute - time.Nanosecond) // the last nanosecond of k1's window
			if restart {
				e.api.Close()
				mustf(t, srv.Close() == nil, "close")
				if srv, err = cmdoplocal.New(opts); err != nil {
					t.Fatal(err)
				}
				e = wrap(t, srv)
				// Its secret is gone with the restart: refused, naming the token, and nothing created.
				r := e.do("POST", fleetPath("f1"), e.admin, body, "Idempotency-Key", "k1").expect(t, 409, cmdopapi.CodeConflict)
				mustf(t, strings.Contains(r.errBody(t).Message, orig.ID), "the refusal does not name %s: %s", orig.ID, r.body)
			} else {
				again := e.do("POST", fleetPath("f1"), e.admin, body, "Idempotency-Key", "k1").expect(t, 201, "")
				mustf(t, string(again.body) == string(first.body), "the replay inside the window differs")
			}
			mustf(t, fleetTotal(e) == 2, "a create inside the window made a token: %d", fleetTotal(e)) // k1, k2

			clk.Add(time.Nanosecond) // exactly the window's end
			fresh := e.do("POST", fleetPath("f1"), e.admin, body, "Idempotency-Key", "k1").expect(t, 201, "").token(t)
			mustf(t, fresh.ID != orig.ID, "k1 replayed at the end of its window")
			// k2 has a minute left, and the new k1 a whole window.
			e.do("POST", fleetPath("f1"), e.admin, `{"name":"other","scopes":["files:read"]}`, "Idempotency-Key", "k2").expect(t, 409, cmdopapi.CodeConflict)
			mustf(t, fleetTotal(e) == 3, "tokens after k1's second create: %d", fleetTotal(e))
			clk.Add(window - time.Nanosecond)
			e.do("POST", fleetPath("f1"), e.admin, `{"name":"other","scopes":["files:read"]}`, "Idempotency-Key", "k1").expect(t, 409, cmdopapi.CodeConflict)
			e.do("POST", fleetPath("f1"), e.admin, `{"name":"other","scopes":["files:read"]}`, "Idempotency-Key", "k2").expect(t, 201, "")

			if restart {
				// On disk: exactly the live records, k1 made at the window's end.
				db := inspect(t, opts.StatePath)
				mustf(t, count(t, db, `SELECT count(*) FROM idempotency`) == 2, "idempotency rows: %d, want 2", count(t, db, `SELECT count(*) FROM idempotency`))
				mustf(t, count(t, db, `SELECT count(*) FROM idempotency WHERE key = 'k1' AND token_id = ?`, fresh.ID) == 1, "k1's row is not the new one")
			}
		})
	}
}
