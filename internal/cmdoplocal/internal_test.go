package cmdoplocal

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// Migrations are appended, never edited: each one's text is frozen here,
// and a database that had it (testdata/state-v1.db) would never get the
// edit. Change the schema by appending a migration, and its hash here.
func TestMigrationsAreAppendOnly(t *testing.T) {
	frozen := []string{
		"05ba84dbbf4fa9409e97b5ce7d82c80d2e4478bffd30ca9e93baf7d1936e46e9", // 1: the first schema
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
