package cmdoplocal_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
	_ "modernc.org/sqlite"
)

// secretRE matches anything shaped like a token secret.
var secretRE = regexp.MustCompile(`cmdop_[0-9A-Za-z]{32,}`)

// noSecretOnDisk fails if any file in dir holds a raw secret.
func noSecretOnDisk(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		data, err := os.ReadFile(filepath.Join(dir, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if m := secretRE.Find(data); m != nil {
			t.Fatalf("%s contains a secret %.12s…", en.Name(), m)
		}
		for _, s := range secrets {
			mustf(t, !strings.Contains(string(data), s), "%s contains a raw secret", en.Name())
		}
	}
}

// inspect opens the state database read-only beside the server.
func inspect(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestPersistenceAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	srv1, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: testAdminToken, FleetID: "f1"})
	if err != nil {
		t.Fatal(err)
	}
	e1 := wrap(t, srv1)
	body := `{"name":"kept","scopes":["files:read"],"expires_in_days":7}`
	kept := e1.do("POST", fleetPath("f1"), e1.admin, body, "Idempotency-Key", "restart-key").expect(t, 201, "").token(t)
	gone := e1.createFleetToken("gone", "files:read")
	e1.do("DELETE", fleetPath("f1")+"/"+gone.ID, e1.admin, nil).expect(t, 204, "")
	short := e1.createFleetToken("short", "files:read")
	e1.do("PATCH", fleetPath("f1")+"/"+short.ID, e1.admin, map[string]any{"expires_at": srv1.Now().Add(48 * time.Hour)}).expect(t, 200, "")
	_, _, memberTok, err := srv1.AddMember("", cmdoplocal.RoleMember, "Mo")
	if err != nil {
		t.Fatal(err)
	}
	advance(t, srv1, 5*time.Minute) // within the idempotency window
	e1.do("GET", fleetPath("f1")+"/"+kept.ID, kept.RawToken, nil).expect(t, 403, cmdopapi.CodePermission)
	used := e1.do("GET", fleetPath("f1")+"/"+kept.ID, e1.admin, nil).expect(t, 200, "").token(t)
	mustf(t, used.LastUsedAt != nil, "kept was never used")
	clock1 := srv1.Now()
	evs1 := e1.events(e1.admin, "")
	e1.api.Close()
	// No Close: every acknowledged write must already be on disk.
	cmdoplocal.Crash(srv1)

	noSecretOnDisk(t, filepath.Dir(path), testAdminToken, kept.RawToken, gone.RawToken, short.RawToken, memberTok)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		mustf(t, fi.Mode().Perm() == 0o600, "%s has mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
	}

	srv2, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: testAdminToken, FleetID: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	e2 := wrap(t, srv2)
	mustf(t, srv2.FleetID() == "f1" && srv2.AdminToken() == testAdminToken && srv2.OwnerUserID() == srv1.OwnerUserID(), "identity changed across restart")
	mustf(t, !srv2.Now().Before(clock1), "clock went back from %v to %v", clock1, srv2.Now())

	got := e2.do("GET", fleetPath("f1")+"/"+kept.ID, e2.admin, nil).expect(t, 200, "").token(t)
	mustf(t, got.Name == "kept" && got.Status == cmdopapi.StatusActive && got.ExpiresAt.Equal(*kept.ExpiresAt), "kept token: %+v", got)
	mustf(t, got.LastUsedAt != nil && got.LastUsedAt.Equal(*used.LastUsedAt) || got.LastUsedAt.After(*used.LastUsedAt), "last_used_at %v, want at least %v", got.LastUsedAt, used.LastUsedAt)
	got = e2.do("GET", fleetPath("f1")+"/"+gone.ID, e2.admin, nil).expect(t, 200, "").token(t)
	mustf(t, got.Status == cmdopapi.StatusRevoked, "revoked token: %+v", got)
	got = e2.do("GET", fleetPath("f1")+"/"+short.ID, e2.admin, nil).expect(t, 200, "").token(t)
	mustf(t, got.ExpiresAt != nil && got.ExpiresAt.Sub(short.CreatedAt) < 49*time.Hour, "shortened expiry lost: %+v", got)
	// Secrets still authenticate (by hash); revoked ones still do not.
	e2.do("GET", "/api/account", kept.RawToken, nil).expect(t, 200, "")
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
			mustf(t, o == ev, "event %s changed: %+v, then %+v", ev.ID, o, ev)
			delete(old, ev.ID)
		}
	}
	mustf(t, len(old) == 0, "%d events lost", len(old))
	mustf(t, evs2[0].ID > evs1[0].ID, "event ids restarted: %s after %s", evs2[0].ID, evs1[0].ID)

	// The replay's secret is gone: a 409 naming the token.
	r := e2.do("POST", fleetPath("f1"), e2.admin, body, "Idempotency-Key", "restart-key").expect(t, 409, cmdopapi.CodeConflict)
	mustf(t, strings.Contains(r.errBody(t).Message, kept.ID), "message lacks the token id: %s", r.body)
	mustf(t, fleetTotal(e2) == 3, "the replay created a token")

	// Without the admin token (or with another one) the secret is unknown.
	e2.api.Close()
	mustf(t, srv2.Close() == nil, "closing srv2")
	for _, tok := range []string{"", "cmdop_" + strings.Repeat("Q", 40)} {
		srv3, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		mustf(t, srv3.AdminToken() == "", "AdminToken() = %q", srv3.AdminToken())
		srv3.Close()
	}
}

func TestStateRefusals(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"corrupt.json": "{not json",
		"v9.json":      `{"version":9}`,
		"binary":       "\x00\x01garbage",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path})
		mustf(t, err != nil && strings.Contains(err.Error(), "start fresh"), "%s: New gave %v, want a refusal saying how to start fresh", name, err)
		data, _ := os.ReadFile(path)
		mustf(t, string(data) == content, "%s was changed by a refused open", name)
	}

	// A database from a newer cmdop-local is refused too.
	path := filepath.Join(dir, "newer.db")
	srv, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = cmdoplocal.New(cmdoplocal.Options{StatePath: path})
	mustf(t, err != nil && strings.Contains(err.Error(), "schema version is 99"), "newer schema: %v", err)
}

// TestImportJSONState imports a state file in the JSON format of cmdop-local
// before the database (this fixture was written by that version).
func TestImportJSONState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	data, err := os.ReadFile("testdata/state-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var v1 struct {
		FleetID string `json:"fleet_id"`
		Tokens  []struct {
			ID      string `json:"id"`
			FleetID string `json:"fleet_id"`
		} `json:"tokens"`
		Events []cmdopapi.Event `json:"events"`
	}
	if err := json.Unmarshal(data, &v1); err != nil {
		t.Fatal(err)
	}

	srv, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: importAdminToken})
	if err != nil {
		t.Fatal(err)
	}
	e := wrap(t, srv)
	mustf(t, srv.AdminToken() == importAdminToken && srv.FleetID() == v1.FleetID, "imported identity: %q %q", srv.FleetID(), srv.AdminToken())
	fleetTokens := 0
	for _, tok := range v1.Tokens {
		if tok.FleetID != "" {
			fleetTokens++
		}
	}
	var page cmdopapi.TokenPage
	e.do("GET", fleetPath(e.fleet), e.admin, nil).expect(t, 200, "").json(t, &page)
	mustf(t, fleetTokens == 2 && page.Total == fleetTokens, "fleet tokens after import: %d, want %d", page.Total, fleetTokens)
	// The idempotency key survived, without its response.
	r := e.do("POST", fleetPath(e.fleet), e.admin, `{"name":"ci","scopes":["machines:read"],"expires_in_days":30}`, "Idempotency-Key", "fixture-key")
	r.expect(t, 409, cmdopapi.CodeConflict)
	evs := e.events(e.admin, "")
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[ev.ID] = true
	}
	for _, ev := range v1.Events {
		mustf(t, seen[ev.ID], "event %s not imported", ev.ID)
	}
	head := make([]byte, 16)
	f, _ := os.Open(path)
	_, _ = f.Read(head)
	f.Close()
	mustf(t, string(head) == "SQLite format 3\x00", "the state file is not a database after import")
	backup, err := os.ReadFile(path + ".json-v1")
	mustf(t, err == nil && string(backup) == string(data), "the original JSON was not kept: %v", err)
	srv.Close()

	// The next start opens the database; the backup is left alone.
	srv2, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: importAdminToken})
	if err != nil {
		t.Fatal(err)
	}
	e2 := wrap(t, srv2)
	mustf(t, len(e2.events(e2.admin, "")) > len(evs), "events after reopening")
	srv2.Close()
}

// importAdminToken is the admin secret of testdata/state-v1.json.
const importAdminToken = "cmdop_ImportAdminToken0123456789abcdefghijklmn"

// TestReadsWriteOnlyTheirEvent checks the database itself: a GET adds one
// event row and changes nothing else; a create adds its token and events.
func TestReadsWriteOnlyTheirEvent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	e := newEnv(t, cmdoplocal.Options{StatePath: path})
	tok := e.createFleetToken("reader", "files:read", "permissions:manage")
	db := inspect(t, path)
	snapshot := func() string {
		var b strings.Builder
		for _, q := range []string{
			`SELECT group_concat(id || coalesce(last_used_at, '-') || coalesce(revoked_at, '-') || coalesce(expires_at, '-'), ',') FROM (SELECT * FROM tokens ORDER BY id)`,
			`SELECT group_concat(key || value, ',') FROM (SELECT * FROM meta ORDER BY key)`,
			`SELECT count(*) FROM users`, `SELECT count(*) FROM members`, `SELECT count(*) FROM fleets`, `SELECT count(*) FROM idempotency`,
		} {
			var s sql.NullString
			if err := db.QueryRow(q).Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(s.String + "|")
		}
		return b.String()
	}
	before, events := snapshot(), count(t, db, `SELECT count(*) FROM events`)
	for range 5 {
		e.do("GET", fleetPath(e.fleet)+"/"+tok.ID, tok.RawToken, nil).expect(t, 200, "")
	}
	e.do("GET", "/api/audit/events?limit=5", tok.RawToken, nil).expect(t, 200, "")
	mustf(t, snapshot() == before, "a read changed rows other than events:\n%s\n%s", before, snapshot())
	mustf(t, count(t, db, `SELECT count(*) FROM events`) == events+6, "six reads added %d events", count(t, db, `SELECT count(*) FROM events`)-events)

	e.createFleetToken("another", "files:read")
	mustf(t, count(t, db, `SELECT count(*) FROM tokens`) == 3, "tokens in the database")
	mustf(t, count(t, db, `SELECT count(*) FROM events WHERE action = 'token.issued'`) == 2, "token.issued rows")
	for _, idx := range []string{"events_by_fleet", "events_by_token", "events_by_action", "events_by_time", "events_by_collection", "tokens_by_fleet", "tokens_by_user"} {
		mustf(t, count(t, db, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?`, idx) == 1, "index %s missing", idx)
	}
	mustf(t, count(t, db, `SELECT version FROM schema_version`) == 2, "schema version")
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q, %v", mode, err)
	}
}

// TestStateIsAlwaysComplete reads the database while writes go on: each
// write is one transaction, so a reader (or a crash) never sees half of one.
func TestStateIsAlwaysComplete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	e := newEnv(t, cmdoplocal.Options{StatePath: path})
	db := inspect(t, path)
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		reads, last := 0, 0
		for {
			select {
			case <-stop:
				done <- reads
				return
			default:
			}
			var tokens, issued int
			tx, err := db.Begin()
			if err == nil {
				err = tx.QueryRow(`SELECT count(*) FROM tokens`).Scan(&tokens)
			}
			if err == nil {
				err = tx.QueryRow(`SELECT count(*) FROM events WHERE action = 'token.issued'`).Scan(&issued)
			}
			if tx != nil {
				_ = tx.Rollback()
			}
			switch {
			case err != nil:
				t.Errorf("reading the database: %v", err)
			case tokens != issued+1: // the admin token has no token.issued event
				t.Errorf("half a write: %d tokens and %d token.issued events", tokens, issued)
			case tokens < last:
				t.Errorf("tokens went from %d to %d", last, tokens)
			}
			last = tokens
			reads++
		}
	}()
	for i := range 40 {
		rec := e.direct("POST", fleetPath(e.fleet), e.admin, `{"name":"n`+strconv.Itoa(i)+`","scopes":["files:read"]}`)
		mustf(t, rec.Code == 201, "create: %d", rec.Code)
	}
	close(stop)
	t.Logf("%d concurrent reads", <-done)

	// Each acknowledged create is in the database.
	cmdoplocal.Crash(e.srv)
	srv2, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: testAdminToken})
	if err != nil {
		t.Fatal(err)
	}
	mustf(t, fleetTotal(wrap(t, srv2)) == 40, "tokens after reload")
}

// TestAuditBounds: header values are cut to 256 bytes, and the retention
// prunes the oldest events of each collection, in memory and on disk,
// across a restart, without losing any token's last use.
func TestAuditBounds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	opts := cmdoplocal.Options{StatePath: path, AdminToken: testAdminToken, AuditRetention: cmdoplocal.Retention{MaxEvents: 20}}
	e := newEnv(t, opts)
	early := e.createFleetToken("early", "files:read", "permissions:manage")
	pusher := e.createFleetToken("pusher", "files:read", "permissions:manage")
	huge := strings.Repeat("é", 450_000) // 900 KB
	for range 30 {
		e.do("GET", fleetPath(e.fleet), e.admin, nil, "User-Agent", huge).expect(t, 200, "")
	}
	e.do("GET", fleetPath(e.fleet), early.RawToken, nil, "User-Agent", huge).expect(t, 200, "")
	lastUse := e.do("GET", fleetPath(e.fleet)+"/"+early.ID, e.admin, nil).expect(t, 200, "").token(t).LastUsedAt
	mustf(t, lastUse != nil, "early was never used")
	for range 30 { // pushes early's token.used event out of the fleet's events
		e.do("GET", fleetPath(e.fleet), pusher.RawToken, nil, "User-Agent", huge).expect(t, 200, "")
	}
	fleetEvents := e.events(e.admin, "fleet_id="+e.fleet)
	mustf(t, len(fleetEvents) == 20, "%d events of the fleet kept, retention is 20", len(fleetEvents))
	evs := e.events(e.admin, "")
	mustf(t, len(evs) <= 40, "%d events kept, retention is 20 in each of 2 collections", len(evs))
	mustf(t, countAction(evs, cmdopapi.ActionTokenUsed, early.ID) == 0, "early's use is still in the log")
	for _, ev := range evs {
		if strings.HasPrefix(ev.UserAgent, "Go-http-client/") { // the queries' own
			continue
		}
		mustf(t, len(ev.UserAgent) <= 256 && len(ev.UserAgent) >= 250, "user_agent of %d bytes kept", len(ev.UserAgent))
		mustf(t, strings.Trim(ev.UserAgent, "é") == "", "user_agent cut mid-character: %q", ev.UserAgent[len(ev.UserAgent)-4:])
	}
	db := inspect(t, path)
	mustf(t, count(t, db, `SELECT max(n) FROM (SELECT count(*) AS n FROM events GROUP BY collection)`) == 20, "a collection on disk beyond the retention")
	mustf(t, count(t, db, `SELECT max(length(CAST(json_extract(doc, '$.user_agent') AS BLOB))) FROM events`) <= 256, "a long user_agent on disk")
	e.api.Close()
	e.srv.Close()
	fi, _ := os.Stat(path)
	mustf(t, fi.Size() < 1<<20, "the database grew to %d bytes", fi.Size())

	srv2, err := cmdoplocal.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e2 := wrap(t, srv2)
	got := e2.do("GET", fleetPath(e2.fleet)+"/"+early.ID, e2.admin, nil).expect(t, 200, "").token(t)
	mustf(t, got.LastUsedAt != nil && got.LastUsedAt.Equal(*lastUse), "last_used_at after pruning and restart: %v, want %v", got.LastUsedAt, lastUse)
	mustf(t, len(e2.events(e2.admin, "fleet_id="+e2.fleet)) <= 20, "retention after restart")
	e2.api.Close()
	srv2.Close()

	// A shorter retention on the next start prunes at once; MaxAge prunes by server time.
	srv3, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AuditRetention: cmdoplocal.Retention{MaxEvents: 5}})
	if err != nil {
		t.Fatal(err)
	}
	srv3.Close()
	db = inspect(t, path)
	mustf(t, count(t, db, `SELECT count(*) FROM events`) == 10, "events after restarting with a retention of 5 in each of 2 collections: %d", count(t, db, `SELECT count(*) FROM events`))
	mustf(t, count(t, db, `SELECT count(DISTINCT collection) FROM events`) == 2, "collections after restarting")

	aged := newEnv(t, cmdoplocal.Options{AuditRetention: cmdoplocal.Retention{MaxEvents: -1, MaxAge: 24 * time.Hour}})
	old := aged.createFleetToken("old", "files:read")
	advance(t, aged.srv, 25*time.Hour)
	fresh := aged.createFleetToken("fresh", "files:read")
	kept := aged.events(aged.admin, "")
	// Not empty (an empty list would pass the loop below): the fresh issue.
	mustf(t, countAction(kept, cmdopapi.ActionTokenIssued, fresh.ID) == 1, "the event of a minute ago was pruned: %+v", kept)
	for _, ev := range kept {
		mustf(t, ev.TokenID != old.ID && aged.srv.Now().Sub(ev.Time) <= 24*time.Hour, "an event older than a day was kept: %+v", ev)
	}
}

// A retention of 3 events keeps the newest 3: five reads of the account,
// then the audit log holds the last three of them.
func ExampleRetention() {
	srv, err := cmdoplocal.New(cmdoplocal.Options{AuditRetention: cmdoplocal.Retention{MaxEvents: 3}})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	get := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+srv.AdminToken())
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	for range 5 {
		get("/api/account")
	}
	var page cmdopapi.EventPage
	if err := json.Unmarshal(get("/api/audit/events").Body.Bytes(), &page); err != nil {
		panic(err)
	}
	for _, ev := range page.Items {
		fmt.Println(ev.Action)
	}
	// Output:
	// token.used
	// token.used
	// token.used
}

// wrap serves an existing server.
func wrap(t *testing.T, srv *cmdoplocal.Server) *env {
	t.Helper()
	return envFor(t, localtest.Serve(t, srv))
}

// The control token is never stored: not in the state database, its WAL
// or any file beside it, and a restart without one makes a new one, which
// the old one no longer opens.
func TestControlTokenIsNeverStored(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	ctl := "control-token-never-stored-0123456789"
	srv1, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: testAdminToken, ControlToken: ctl})
	if err != nil {
		t.Fatal(err)
	}
	e1 := wrap(t, srv1)
	e1.do("POST", "/_local/members", ctl, `{"role":"admin","name":"Ada"}`).expect(t, 201, "")
	e1.do("POST", "/_local/clock", ctl, `{"advance":"1h"}`).expect(t, 200, "")
	e1.createFleetToken("kept", "files:read")
	check := func(when string) {
		t.Helper()
		files, _ := os.ReadDir(dir)
		mustf(t, len(files) > 0, "no state files")
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			mustf(t, !strings.Contains(string(b), ctl), "%s: %s holds the control token", when, f.Name())
		}
	}
	check("running")
	e1.api.Close()
	if err := srv1.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed")

	srv2, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: testAdminToken})
	if err != nil {
		t.Fatal(err)
	}
	e2 := wrap(t, srv2)
	mustf(t, srv2.ControlToken() != ctl, "the restart reused the control token")
	e2.do("GET", "/_local/clock", ctl, nil).expect(t, 401, cmdopapi.CodeAuth)
	e2.do("GET", "/_local/clock", srv2.ControlToken(), nil).expect(t, 200, "")
}

// testdata/state-v1.db is a database of schema version 1, frozen: the
// import of testdata/state-v1.json by the cmdop-local of schema 1, written
// once with CMDOP_LOCAL_WRITE_V1_DB=1 and never again. Every later
// cmdop-local must open it, migrating it to its own schema, with all it
// holds; migrations are appended, never edited (TestMigrationsAreAppendOnly).
func TestOpensTheFrozenV1Database(t *testing.T) {
	const fixture = "testdata/state-v1.db"
	if os.Getenv("CMDOP_LOCAL_WRITE_V1_DB") != "" {
		writeV1Database(t, fixture)
	}
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	mustf(t, count(t, inspect(t, path), `SELECT version FROM schema_version`) == 1, "the fixture is not of schema version 1")

	srv, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: importAdminToken})
	if err != nil {
		t.Fatalf("opening the v1 database: %v", err)
	}
	e := wrap(t, srv)
	var v1 struct {
		FleetID string           `json:"fleet_id"`
		Events  []cmdopapi.Event `json:"events"`
	}
	raw, err := os.ReadFile("testdata/state-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &v1); err != nil {
		t.Fatal(err)
	}
	mustf(t, srv.FleetID() == v1.FleetID, "fleet %q, want %q", srv.FleetID(), v1.FleetID)
	var page cmdopapi.TokenPage
	e.do("GET", fleetPath(e.fleet), e.admin, nil).expect(t, 200, "").json(t, &page)
	mustf(t, page.Total == 2, "fleet tokens: %d, want the fixture's 2", page.Total)
	e.do("POST", fleetPath(e.fleet), e.admin, `{"name":"ci","scopes":["machines:read"],"expires_in_days":30}`, "Idempotency-Key", "fixture-key").
		expect(t, 409, cmdopapi.CodeConflict)
	seen := map[string]bool{}
	for _, ev := range e.events(e.admin, "") {
		seen[ev.ID] = true
	}
	for _, ev := range v1.Events {
		mustf(t, seen[ev.ID], "event %s of the v1 database is gone", ev.ID)
	}
	// It works on as a database of this version: a write, a restart.
	tok := e.createFleetToken("after-migration", "files:read")
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	srv2, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: importAdminToken})
	if err != nil {
		t.Fatal(err)
	}
	e2 := wrap(t, srv2)
	e2.do("GET", fleetPath(e2.fleet)+"/"+tok.ID, e2.admin, nil).expect(t, 200, "")
}

// writeV1Database writes the frozen fixture; run only by hand, with
// CMDOP_LOCAL_WRITE_V1_DB=1, by the cmdop-local of schema version 1.
func writeV1Database(t *testing.T, fixture string) {
	t.Helper()
	raw, err := os.ReadFile("testdata/state-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path, AdminToken: importAdminToken})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA journal_mode=DELETE; VACUUM`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fixture, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", fixture, len(b))
}
