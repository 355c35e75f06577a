package cmdoplocal_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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

// secretRE matches anything shaped like a token secret.
var secretRE = regexp.MustCompile(`cmdop_[0-9A-Za-z]{32,}`)

func TestPersistenceAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	srv1, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: testAdminToken, FleetID: "f1"})
	if err != nil {
		t.Fatal(err)
	}
	e1 := wrap(t, srv1)
	body := `{"name":"kept","scopes":["files:read"],"expires_in_days":7}`
	kept := e1.do("POST", fleetPath("f1"), e1.admin, body, "Idempotency-Key", "restart-key").expect(t, 201, "").token(t)
	gone := e1.createFleetToken("gone", "files:read")
	e1.do("DELETE", fleetPath("f1")+"/"+gone.ID, e1.admin, nil).expect(t, 204, "")
	_, _, memberTok, err := srv1.AddMember("", cmdoplocal.RoleMember, "Mo")
	if err != nil {
		t.Fatal(err)
	}
	advance(t, srv1, 5*time.Minute) // within the idempotency window
	clock1 := srv1.Now()
	evs1 := e1.events(e1.admin, "")
	e1.ts.Close()
	// No Close: every acknowledged write must already be on disk.

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := secretRE.Find(data); m != nil {
		t.Fatalf("the state file contains a secret: %s", m)
	}
	for _, s := range []string{testAdminToken, kept.RawToken, gone.RawToken, memberTok} {
		mustf(t, !strings.Contains(string(data), s), "the state file contains a raw token")
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".state.json.tmp-*"))
	mustf(t, len(matches) == 0, "temporary files left behind: %v", matches)

	srv2, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: testAdminToken, FleetID: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	e2 := wrap(t, srv2)
	mustf(t, srv2.FleetID() == "f1" && srv2.AdminToken() == testAdminToken && srv2.OwnerUserID() == srv1.OwnerUserID(), "identity changed across restart")
	mustf(t, !srv2.Now().Before(clock1), "clock went back from %v to %v", clock1, srv2.Now())

	got := e2.do("GET", fleetPath("f1")+"/"+kept.ID, e2.admin, nil).expect(t, 200, "").token(t)
	mustf(t, got.Name == "kept" && got.Status == cmdopapi.StatusActive && got.ExpiresAt.Equal(*kept.ExpiresAt), "kept token: %+v", got)
	got = e2.do("GET", fleetPath("f1")+"/"+gone.ID, e2.admin, nil).expect(t, 200, "").token(t)
	mustf(t, got.Status == cmdopapi.StatusRevoked, "revoked token: %+v", got)
	// Secrets still authenticate (by hash); revoked ones still do not.
	e2.do("GET", "/api/audit/events?limit=1", kept.RawToken, nil).expect(t, 200, "")
	e2.do("GET", "/api/audit/events?limit=1", gone.RawToken, nil).expect(t, 401, cmdopapi.CodeAuth)
	e2.do("GET", personalPath, memberTok, nil).expect(t, 200, "")

	evs2 := e2.events(e2.admin, "")
	mustf(t, len(evs2) > len(evs1), "events after restart: %d, before: %d", len(evs2), len(evs1))
	// The old events are all still there, unchanged, and new ids continue the sequence.
	old := map[string]cmdopapi.Event{}
	for _, ev := range evs1 {
		old[ev.ID] = ev
	}
	for _, ev := range evs2 {
		if o, ok := old[ev.ID]; ok {
			mustf(t, o.Time.Equal(ev.Time) && o.Action == ev.Action && o.TokenID == ev.TokenID, "event %s changed", ev.ID)
			delete(old, ev.ID)
		}
	}
	mustf(t, len(old) == 0, "%d events lost", len(old))
	mustf(t, evs2[0].ID > evs1[0].ID, "event ids restarted: %s after %s", evs2[0].ID, evs1[0].ID)

	// The replay's secret is gone: a 409 naming the token.
	r := e2.do("POST", fleetPath("f1"), e2.admin, body, "Idempotency-Key", "restart-key").expect(t, 409, cmdopapi.CodeConflict)
	mustf(t, strings.Contains(r.errBody(t).Message, kept.ID), "message lacks the token id: %s", r.body)
	mustf(t, fleetTotal(e2) == 2, "the replay created a token")

	// Without the admin token (or with another one) the secret is unknown.
	for _, tok := range []string{"", "cmdop_" + strings.Repeat("Q", 40)} {
		srv3, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		mustf(t, srv3.AdminToken() == "", "AdminToken() = %q", srv3.AdminToken())
		srv3.Close()
	}

	// A corrupt state file is an error, not a fresh seed.
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path}); err == nil {
		t.Fatal("New accepted a corrupt state file")
	}
}

// wrap serves an existing server.
func wrap(t *testing.T, srv *cmdoplocal.Server) *env {
	t.Helper()
	e := &env{t: t, srv: srv, admin: srv.AdminToken(), fleet: srv.FleetID()}
	e.ts = newHTTPTestServer(t, srv)
	e.client = e.ts.Client()
	return e
}

// TestStateFileIsAlwaysComplete reads the state file while writes go on: it
// is replaced atomically, so a reader (or a crash) never sees a partial file.
func TestStateFileIsAlwaysComplete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	e := newEnv(t, cmdoplocal.Options{StatePath: path})
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		reads := 0
		for {
			select {
			case <-stop:
				done <- reads
				return
			default:
			}
			data, err := os.ReadFile(path)
			if err != nil || !json.Valid(data) {
				t.Errorf("read a broken state file (%d bytes): %v", len(data), err)
			}
			reads++
		}
	}()
	for i := range 40 {
		rec := e.direct("POST", fleetPath(e.fleet), e.admin, `{"name":"n`+strconv.Itoa(i)+`","scopes":["files:read"]}`)
		mustf(t, rec.Code == 201, "create: %d", rec.Code)
	}
	close(stop)
	t.Logf("%d concurrent reads", <-done)

	// Each acknowledged create is in the file.
	srv2, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: testAdminToken})
	if err != nil {
		t.Fatal(err)
	}
	mustf(t, fleetTotal(wrap(t, srv2)) == 40, "tokens after reload")
}
