package cmdoplocal

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// The state database. Users, fleets, members, tokens and idempotency keys are
// few: the store keeps them in memory, answers from there, and writes the
// rows that changed through to the database. The audit log is the table that
// grows: it lives only in the database and is queried there, through indexes
// that fit the queries. Each commit writes what changed since the last one
// in one transaction (WAL, synchronous=FULL) before the response goes out.
// Without a state file the database is in memory. It holds no secret: tokens
// are kept as SHA-256 hashes and idempotency records without their responses.

// migrations[v-1] takes the schema from version v-1 to v. Append, never edit.
var migrations = []string{
	// 1: the first schema.
	`CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE users (
		id   TEXT PRIMARY KEY,
		name TEXT NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE fleets (
		id   TEXT PRIMARY KEY,
		name TEXT NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE members (
		fleet_id TEXT NOT NULL REFERENCES fleets(id),
		user_id  TEXT NOT NULL REFERENCES users(id),
		role     TEXT NOT NULL,
		PRIMARY KEY (fleet_id, user_id)
	) WITHOUT ROWID;
	CREATE INDEX members_by_user ON members (user_id);
	CREATE TABLE tokens (
		id            TEXT PRIMARY KEY,
		fleet_id      TEXT NOT NULL DEFAULT '',
		user_id       TEXT NOT NULL DEFAULT '',
		name          TEXT NOT NULL,
		key_prefix    TEXT NOT NULL,
		scopes        TEXT NOT NULL,
		created_at    TEXT NOT NULL,
		expires_at    TEXT,
		last_used_at  TEXT,
		revoked_at    TEXT,
		created_by_id TEXT NOT NULL DEFAULT '',
		secret_sha256 TEXT NOT NULL UNIQUE
	) WITHOUT ROWID;
	CREATE INDEX tokens_by_fleet ON tokens (fleet_id, created_at, id);
	CREATE INDEX tokens_by_user ON tokens (user_id, created_at, id);
	CREATE TABLE idempotency (
		caller_token_id TEXT NOT NULL,
		key             TEXT NOT NULL,
		request_sha256  TEXT NOT NULL,
		token_id        TEXT NOT NULL,
		created_at      TEXT NOT NULL,
		PRIMARY KEY (caller_token_id, key)
	) WITHOUT ROWID;
	CREATE INDEX idempotency_by_time ON idempotency (created_at);
	CREATE TABLE events (
		seq      INTEGER PRIMARY KEY,
		time     TEXT NOT NULL,
		action   TEXT NOT NULL,
		actor_id TEXT NOT NULL,
		token_id TEXT NOT NULL DEFAULT '',
		fleet_id TEXT NOT NULL DEFAULT '',
		doc      TEXT NOT NULL -- the event as the API returns it, in JSON
	);
	CREATE INDEX events_by_time ON events (time, seq);
	CREATE INDEX events_by_fleet ON events (fleet_id, time, seq);
	CREATE INDEX events_by_token ON events (token_id, time, seq);
	CREATE INDEX events_by_action ON events (action, time, seq);`,
	// 2: each event's collection (a fleet, or a user's personal tokens),
	// which retention counts per collection.
	`ALTER TABLE events ADD COLUMN collection TEXT NOT NULL DEFAULT '';
	UPDATE events SET collection = CASE
		WHEN fleet_id != '' THEN 'fleet:' || fleet_id
		ELSE coalesce((SELECT 'user:' || tokens.user_id FROM tokens WHERE tokens.id = events.token_id AND tokens.user_id != ''), '')
	END;
	CREATE INDEX events_by_collection ON events (collection, seq);`,
}

// dbTimeFormat is fixed-width, so that text order is time order.
const dbTimeFormat = "2006-01-02T15:04:05.000000000Z"

const sqliteHeader = "SQLite format 3\x00"

func fmtTime(t time.Time) string { return t.UTC().Format(dbTimeFormat) }

func fmtTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return fmtTime(*t)
}

// parseTime reads dbTimeFormat quickly (an audit page reads a thousand),
// and any other RFC 3339 time the slow way.
func parseTime(s string) (time.Time, error) {
	if len(s) == len(dbTimeFormat) && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' && s[29] == 'Z' {
		n := func(from, to int) (int, bool) {
			v := 0
			for i := from; i < to; i++ {
				c := s[i]
				if c < '0' || c > '9' {
					return 0, false
				}
				v = v*10 + int(c-'0')
			}
			return v, true
		}
		y, ok1 := n(0, 4)
		mo, ok2 := n(5, 7)
		d, ok3 := n(8, 10)
		h, ok4 := n(11, 13)
		mi, ok5 := n(14, 16)
		sec, ok6 := n(17, 19)
		ns, ok7 := n(20, 29)
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && sec < 60 {
			return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC), nil
		}
	}
	return time.Parse(time.RFC3339Nano, s)
}

func parseTimePtr(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	return &t, err
}

// stateDB is the open state database.
type stateDB struct {
	path  string
	db    *sql.DB
	stmts map[string]*sql.Stmt // prepared statements, by their text

	stopCheckpoints, checkpointsDone chan struct{} // nil in memory

	lock *stateLock // nil in memory
}

// maxStmts bounds the statement cache: audit queries vary with the number
// of values in their IN lists.
const maxStmts = 256

// stmt returns the prepared statement for q, preparing it once: SQLite
// spends more on parsing a statement than on running most of ours. It needs
// the connection: never call it inside a transaction.
func (d *stateDB) stmt(q string) (*sql.Stmt, error) {
	if st, ok := d.stmts[q]; ok {
		return st, nil
	}
	st, err := d.db.Prepare(q)
	if err != nil {
		return nil, err
	}
	if len(d.stmts) < maxStmts {
		d.stmts[q] = st
	}
	return st, nil
}

// openState opens or creates the state database at path and loads it. It
// returns a nil store when the database holds nothing yet (it must be
// seeded). A JSON state file of the old format is imported first, its
// original kept beside it as path+".json-v1".
func openState(path string) (*stateDB, *store, error) {
	if strings.ContainsRune(path, '?') {
		return nil, nil, fmt.Errorf("the state path %q contains '?'; choose a path without it", path)
	}
	lock, err := lockState(path)
	if err != nil {
		return nil, nil, err
	}
	d, st, err := openLocked(path)
	if err != nil {
		_ = lock.release()
		return nil, nil, err
	}
	d.lock = lock
	return d, st, nil
}

// openLocked is openState once the lock is held.
func openLocked(path string) (*stateDB, *store, error) {
	kind, err := stateKind(path)
	if err != nil {
		return nil, nil, err
	}
	switch kind {
	case "json":
		if err := importJSON(path); err != nil {
			return nil, nil, err
		}
	case "other":
		return nil, nil, fmt.Errorf("%s is neither a cmdop-local state database nor a cmdop-local JSON state file; pass another --state path, or delete the file to start fresh", path)
	}
	d, err := openDB(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := d.load()
	if err != nil {
		_ = d.close()
		return nil, nil, fmt.Errorf("reading state database %s: %w; delete it (and its -wal and -shm files) to start fresh", path, err)
	}
	return d, st, nil
}

// stateKind tells what is at path: "new" (nothing, or an empty file),
// "sqlite", "json" or "other". It creates a missing file with mode 0600.
func stateKind(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := f.Read(head)
	if n == 0 {
		return "new", nil
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte(sqliteHeader)):
		return "sqlite", nil
	case bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte("{")):
		return "json", nil
	case err != nil:
		return "", err
	}
	return "other", nil
}

// openDB opens (creating if need be) the database at path and brings its
// schema up to date.
func openDB(path string) (*stateDB, error) {
	// The page cache is 8 MiB: every commit scans the whole cache's hash
	// table (pcache1TruncateUnsafe under pager_end_transaction), so a cache
	// that grows with the database makes every write cost more than the one
	// before it. 64 MiB cost 11% of a create's CPU at 20,000 creates; the
	// operating system's file cache keeps the rest of the file at hand. The
	// WAL is checkpointed in the background (checkpointer), off the request
	// path; SQLite's own checkpoint, inside a commit, is only a backstop at
	// 16,000 pages, and a WAL that grew under load is cut back to 8 MiB once
	// it restarts.
	dsn := path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=cache_size(-8192)&_pragma=wal_autocheckpoint(16000)&_pragma=journal_size_limit(8388608)&_txlock=immediate"
	if path == "" {
		// Not ":memory:": that database lives in its page cache, which the
		// same scan on every commit walks whole. The memdb VFS keeps the
		// pages in a memory file of its own, named uniquely so that no two
		// servers of one process share it, and the cache stays bounded.
		dsn = "file:/cmdop-local-" + uuid.NewString() + "?vfs=memdb&_pragma=journal_mode(MEMORY)&_pragma=cache_size(-8192)&_txlock=immediate"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// One connection, never recycled (an in-memory database lives as long as
	// its connection); every use is under Server.mu anyway.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	d := &stateDB{path: path, db: db, stmts: map[string]*sql.Stmt{}}
	if err := d.migrate(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("opening state database %s: %w", path, err)
	}
	if path != "" {
		if err := d.startCheckpointer(dsn); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("opening state database %s: %w", path, err)
		}
	}
	return d, nil
}

// checkpointInterval is how often the background checkpointer copies the
// WAL into the database.
const checkpointInterval = 200 * time.Millisecond

// startCheckpointer runs PRAGMA wal_checkpoint(PASSIVE) on a connection of
// its own every checkpointInterval, so that no request waits for the
// database file's fsync. A passive checkpoint never blocks the writer;
// commits stay durable in the WAL either way.
func (d *stateDB) startCheckpointer(dsn string) error {
	cp, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	cp.SetMaxOpenConns(1)
	d.stopCheckpoints = make(chan struct{})
	d.checkpointsDone = make(chan struct{})
	go func() {
		defer close(d.checkpointsDone)
		defer cp.Close()
		t := time.NewTicker(checkpointInterval)
		defer t.Stop()
		for {
			select {
			case <-d.stopCheckpoints:
				return
			case <-t.C:
				_, _ = cp.Exec(`PRAGMA wal_checkpoint(PASSIVE)`) // a failure leaves the backstop
			}
		}
	}()
	return nil
}

// migrate applies the migrations the database has not had yet.
func (d *stateDB) migrate() error {
	if _, err := d.db.Exec(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	version := 0
	err := d.db.QueryRow(`SELECT version FROM schema_version`).Scan(&version)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("its schema version is %d, but this cmdop-local knows only up to version %d; use a newer cmdop-local, or another --state path to start fresh", version, len(migrations))
	}
	for v := version + 1; v <= len(migrations); v++ {
		tx, err := d.db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(migrations[v-1]); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("schema migration to version %d: %w", v, err)
		}
		if _, err := tx.Exec(`DELETE FROM schema_version`); err != nil {
			_ = tx.Rollback()
			return err
		}
		if _, err := tx.Exec(`INSERT INTO schema_version (version) VALUES (?)`, v); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func (d *stateDB) close() error {
	if d.stopCheckpoints != nil {
		close(d.stopCheckpoints)
		<-d.checkpointsDone
		d.stopCheckpoints = nil
	}
	for _, st := range d.stmts {
		_ = st.Close()
	}
	err := d.db.Close()
	if lerr := d.lock.release(); err == nil {
		err = lerr
	}
	d.lock = nil
	return err
}

// Meta keys.
const (
	metaOwner       = "owner_user_id"
	metaFleet       = "fleet_id"
	metaAdminToken  = "admin_token_id"
	metaClockOffset = "clock_offset_ns"
	metaLastNow     = "last_now"
	metaEventSeq    = "event_seq"
	metaMemberSeq   = "member_seq"
)
