package cmdoplocal

import (
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		s := newSecret()
		if len(s) != 46 || !validSecret(s) {
			t.Fatalf("bad secret %q", s)
		}
		if seen[s] {
			t.Fatalf("repeated secret %q", s)
		}
		seen[s] = true
	}
	if hashSecret("a") == hashSecret("b") || !hashesEqual(hashSecret("a"), hashSecret("a")) {
		t.Fatal("hashing is broken")
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "36h": 36 * time.Hour, "20ms": 20 * time.Millisecond, "0d": 0} {
		got, err := parseDuration(in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "1.5d", "xd", "soon", "999999999999d"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) succeeded", in)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	e := cmdopapi.Event{ID: "evt_000000000042", Time: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)}
	p, ok := decodeCursor(encodeCursor(&e))
	if !ok || !p.time.Equal(e.Time) || p.id != e.ID {
		t.Fatalf("round trip gave %+v %v", p, ok)
	}
	for _, bad := range []string{"", "!!", "Zm9v", "MjAzMHxldnRfMQ"} {
		if _, ok := decodeCursor(bad); ok {
			t.Errorf("decodeCursor(%q) succeeded", bad)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	var req cmdopapi.CreateTokenRequest
	if err := decodeJSON([]byte(` {"name":"a","scopes":["files:read"],"expires_in_days":3} `), &req); err != nil {
		t.Fatalf("valid body: %v", err)
	}
	if req.Name != "a" || len(req.Scopes) != 1 || *req.ExpiresInDays != 3 {
		t.Fatalf("decoded %+v", req)
	}
	for body, field := range map[string]string{
		`{"name":1}`:              "name",
		`{"scopes":[1]}`:          "scopes",
		`{"expires_at":"x"}`:      "expires_at",
		`{"expires_at":1}`:        "expires_at",
		`{"NAME":"a"}`:            "NAME",
		`{"name":"a"} trailing`:   "",
		`{"name":"a"`:             "",
		"\x00":                    "",
		`{"expires_in_days":1e3}`: "expires_in_days",
	} {
		var r cmdopapi.CreateTokenRequest
		err := decodeJSON([]byte(body), &r)
		if err == nil || err.status != 422 {
			t.Errorf("%s: got %v", body, err)
			continue
		}
		if got, _ := err.details["field"].(string); got != field {
			t.Errorf("%s: field %q, want %q", body, got, field)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	for _, content := range []string{"one", "two"} {
		if err := writeFileAtomic(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v", got, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries", len(entries))
	}
	if err := writeFileAtomic(filepath.Join(t.TempDir(), "missing", "s.json"), nil); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}

// TestAuditQueriesUseIndexes checks SQLite's plan for each kind of audit
// query: an index walked in (time, seq) order, never a sort of the matches.
func TestAuditQueriesUseIndexes(t *testing.T) {
	d, err := openDB("")
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	v := &viewer{userID: "u", selfID: "t", personal: map[string]bool{"p": true}, fleets: map[string]bool{"f": true}}
	cursor := &eventPos{time: time.Now(), id: "evt_000000000010"}
	for want, eq := range map[string]*eventQuery{
		"events_by_time":   {limit: 100},
		"events_by_token":  {tokenID: "x", limit: 100, after: cursor},
		"events_by_fleet":  {fleetID: "f", limit: 100},
		"events_by_action": {actions: map[string]bool{cmdopapi.ActionTokenUsed: true}, limit: 1000, after: cursor},
	} {
		q, args := eventsSQL(eq, v)
		rows, err := d.db.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		joined := strings.Join(plan, "; ")
		if !strings.Contains(joined, "INDEX "+want) || strings.Contains(joined, "TEMP B-TREE") {
			t.Errorf("plan for %s: %s", want, joined)
		}
	}
	// Pruning reads only the pruned range, by sequence number.
	var id, parent, unused int
	var detail string
	if err := d.db.QueryRow("EXPLAIN QUERY PLAN "+prunedUsesSQL, 1, 2).Scan(&id, &parent, &unused, &detail); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "INTEGER PRIMARY KEY (rowid>? AND rowid<?)") {
		t.Errorf("plan for pruning: %s", detail)
	}
	// Trimming a collection reads only its oldest events, through its index.
	for _, q := range []string{trimmedUsesSQL, `SELECT seq FROM events WHERE collection = ? ORDER BY seq LIMIT 1 OFFSET ?`, `DELETE FROM events WHERE collection = ? AND seq <= ?`} {
		rows, err := d.db.Query("EXPLAIN QUERY PLAN "+q, "fleet:f", 2)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if joined := strings.Join(plan, "; "); !strings.Contains(joined, "INDEX events_by_collection (collection=? AND seq<?)") &&
			!strings.Contains(joined, "INDEX events_by_collection (collection=?)") {
			t.Errorf("plan for trimming, %s: %s", q, joined)
		}
	}
}

func TestTimeAndIDFormats(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		got, err := parseTime(fmtTime(tm))
		if err != nil || !got.Equal(tm) {
			t.Errorf("parseTime(fmtTime(%v)) = %v, %v", tm, got, err)
		}
	}
	for _, bad := range []string{"2030-13-02T03:04:05.000000000Z", "2030-01-02T03:04:05.00000000xZ", "soon"} {
		if _, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) succeeded", bad)
		}
	}
	if got, _ := parseTime("2030-01-02T03:04:05+02:00"); !got.Equal(time.Date(2030, 1, 2, 1, 4, 5, 0, time.UTC)) {
		t.Errorf("an RFC 3339 time with an offset: %v", got)
	}
	for seq, want := range map[uint64]string{1: "evt_000000000001", 123456789012: "evt_123456789012", 1234567890123: "evt_1234567890123"} {
		if got := eventID(seq); got != want || eventSeqOf(got) != seq {
			t.Errorf("eventID(%d) = %q", seq, got)
		}
	}
}

func TestFairLevel(t *testing.T) {
	for _, c := range []struct {
		counts      []int
		total, want int
	}{
		{[]int{1000, 10, 5}, 100, 85},    // only the largest is trimmed
		{[]int{50, 50, 2}, 62, 30},       // the two largest share what is left
		{[]int{10, 10}, 20, 10},          // nothing to trim
		{[]int{100, 1}, 0, 0},            // a cap of nothing
		{[]int{7, 7, 7}, 10, 3},          // an even split, rounded down
		{[]int{300, 3, 1, 1, 1}, 60, 54}, // the flood test's shape
	} {
		if got := fairLevel(slices.Clone(c.counts), c.total); got != c.want {
			t.Errorf("fairLevel(%v, %d) = %d, want %d", c.counts, c.total, got, c.want)
		}
	}
}

// TestMigrationToCollections: a database of schema version 1 gets each
// event's collection from its fleet, or from its personal token's user.
func TestMigrationToCollections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		migrations[0],
		`CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1)`,
		`INSERT INTO tokens (id, user_id, name, key_prefix, scopes, created_at, secret_sha256) VALUES ('p1', 'u1', 'p', 'cmdop_aaaaaa', '[]', '2030-01-01T00:00:00.000000000Z', 'h1')`,
		`INSERT INTO events (seq, time, action, actor_id, token_id, fleet_id, doc) VALUES
			(1, '2030-01-01T00:00:00.000000000Z', 'token.used', 'p1', 'p1', '', '{}'),
			(2, '2030-01-01T00:00:01.000000000Z', 'token.used', 'f1tok', 'f1tok', 'f1', '{}'),
			(3, '2030-01-01T00:00:02.000000000Z', 'token.revoked', 'system', 'gone', '', '{}')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	d, err := openDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	var got []string
	if err := eachRow(d.db, `SELECT collection FROM events ORDER BY seq`, func(r *sql.Rows) error {
		var c string
		got = append(got, c)
		return r.Scan(&got[len(got)-1])
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"user:u1", "fleet:f1", ""}; !slices.Equal(got, want) {
		t.Errorf("collections %q, want %q", got, want)
	}
}

func TestParseRetentionTotal(t *testing.T) {
	for in, want := range map[string]int{"500000": 500000, " 60 ": 60, "off": -1} {
		if got, err := ParseRetentionTotal(in); err != nil || got != want {
			t.Errorf("ParseRetentionTotal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "1.5", "30d"} {
		if _, err := ParseRetentionTotal(in); err == nil {
			t.Errorf("ParseRetentionTotal(%q) succeeded", in)
		}
	}
}

// TestIdemQueueBookkeeping: expiry pops only what has expired, oldest
// first, and leaves the pending writes exact: an expired key is a delete
// and not a put, a key made again is a put and not a delete, and a record
// that was replaced is not dropped with the old one.
func TestIdemQueueBookkeeping(t *testing.T) {
	st := newStore()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, k := range []string{"a", "b", "c"} {
		st.rememberIdem(t0.Add(time.Duration(i)*time.Minute), "caller", k, "h", "tok-"+k, []byte("{}"))
	}
	st.pending.reset() // saved
	key := func(k string) idemKey { return idemKey{caller: "caller", key: k} }

	end := t0.Add(idempotencyWindow) // a's window ends; b's and c's not yet
	mustBe := func(ok bool, format string, args ...any) {
		t.Helper()
		if !ok {
			t.Fatalf(format, args...)
		}
	}
	mustBe(st.lookupIdem(end.Add(-time.Nanosecond), "caller", "a") != nil, "a dropped before its window's end")
	mustBe(len(st.pending.idemDel) == 0, "deletes before any expiry: %v", st.pending.idemDel)
	mustBe(st.lookupIdem(end, "caller", "a") == nil, "a kept at its window's end")
	mustBe(st.pending.idemDel[key("a")] && len(st.pending.idemDel) == 1 && len(st.pending.idemPut) == 0, "after a's expiry: put %v, del %v", st.pending.idemPut, st.pending.idemDel)
	mustBe(st.idemOrder.len() == 2 && st.lookupIdem(end, "caller", "b") != nil, "b or c went with a")

	st.rememberIdem(end, "caller", "a", "h2", "tok-a2", []byte("{}")) // a again
	mustBe(st.pending.idemPut[key("a")] && !st.pending.idemDel[key("a")], "a made again: put %v, del %v", st.pending.idemPut, st.pending.idemDel)
	st.pending.reset()

	// b and c expire; the new a lives on to its own window's end.
	later := end.Add(2 * time.Minute)
	mustBe(st.lookupIdem(later, "caller", "a").TokenID == "tok-a2", "the new a is gone")
	mustBe(st.pending.idemDel[key("b")] && st.pending.idemDel[key("c")] && len(st.pending.idemDel) == 2, "deletes %v", st.pending.idemDel)
	mustBe(st.lookupIdem(end.Add(idempotencyWindow), "caller", "a") == nil && st.idemOrder.len() == 0 && len(st.idem) == 0, "the new a outlived its window")

	// Many records: the queue compacts, and stays in order.
	for i := range 1000 {
		st.rememberIdem(later.Add(time.Duration(i)*time.Second), "caller", strconv.Itoa(i), "h", "t", nil)
	}
	st.expireIdem(later.Add(idempotencyWindow + 500*time.Second))
	mustBe(st.idemOrder.len() == 499 && len(st.idem) == 499 && st.idemOrder.front().Key == "501", "after expiring 501 of 1000: %d queued, front %q", st.idemOrder.len(), st.idemOrder.front().Key)
	mustBe(len(st.idemOrder.recs) < 1000, "the queue never compacted: %d slots", len(st.idemOrder.recs))
}

// Migrations are appended, never edited: each one's text is frozen here,
// and a database that had it (testdata/state-v1.db) would never get the
// edit. Change the schema by appending a migration, and its hash here.
func TestMigrationsAreAppendOnly(t *testing.T) {
	frozen := []string{
		"05ba84dbbf4fa9409e97b5ce7d82c80d2e4478bffd30ca9e93baf7d1936e46e9", // 1: the first schema
		"ab849b169bbfcfda1722ceba734c7b453f9b84fa15deff8379ac4d708b72f77c", // 2: each event's collection (per-collection retention)
	}
	if len(migrations) < len(frozen) {
		t.Fatalf("%d migrations, but %d are frozen: a migration was removed", len(migrations), len(frozen))
	}
	for i, want := range frozen {
		if got := fmt.Sprintf("%x", sha256.Sum256([]byte(migrations[i]))); got != want {
			t.Errorf("migration %d was edited (sha256 %s, frozen %s): append a new migration instead", i+1, got, want)
		}
	}
	if len(migrations) > len(frozen) {
		t.Errorf("migration %d is not frozen here: add its sha256 to this test", len(frozen)+1)
	}
}

// A migration that fails leaves the database as it was: the earlier
// version, nothing of the failed migration's statements, and an error
// that names the version.
func TestFailedMigrationRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	d, err := openDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.close(); err != nil {
		t.Fatal(err)
	}
	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(slices.Clone(saved), `CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);`)
	if d, err := openDB(path); err == nil {
		d.close()
		t.Fatal("a failing migration opened the database")
	} else if !strings.Contains(err.Error(), fmt.Sprintf("schema migration to version %d", len(migrations))) {
		t.Errorf("error %q does not name the failed version", err)
	}
	migrations = saved
	d, err = openDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	var version, halfDone int
	if err := d.db.QueryRow(`SELECT version FROM schema_version`).Scan(&version); err != nil || version != len(saved) {
		t.Errorf("schema version %d (%v) after the failed migration, want %d", version, err, len(saved))
	}
	if err := d.db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'half_done'`).Scan(&halfDone); err != nil || halfDone != 0 {
		t.Errorf("the failed migration's table exists (%d, %v)", halfDone, err)
	}
}

// truncateHeader keeps a value within the limit as it is, cuts a longer
// one on a UTF-8 boundary, and gives up after utf8.UTFMax bytes on one
// that is not UTF-8 at all.
func TestTruncateHeader(t *testing.T) {
	within := strings.Repeat("a", maxHeaderLen-1) + "\xff"
	if got := truncateHeader(within); got != within {
		t.Errorf("a value of exactly %d bytes was changed to %d bytes", maxHeaderLen, len(got))
	}
	split := "a" + strings.Repeat("é", maxHeaderLen) // the cut at maxHeaderLen splits an é
	if got := truncateHeader(split); len(got) != maxHeaderLen-1 || !utf8.ValidString(got) {
		t.Errorf("cut to %d bytes (valid UTF-8: %v), want %d", len(got), utf8.ValidString(got), maxHeaderLen-1)
	}
	garbage := strings.Repeat("\xff", 2*maxHeaderLen)
	if got := truncateHeader(garbage); len(got) != maxHeaderLen-utf8.UTFMax {
		t.Errorf("a value that is not UTF-8 was cut to %d bytes, want %d", len(got), maxHeaderLen-utf8.UTFMax)
	}
}
