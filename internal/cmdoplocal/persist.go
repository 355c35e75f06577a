package cmdoplocal

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
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
		seq         INTEGER PRIMARY KEY,
		time        TEXT NOT NULL,
		action      TEXT NOT NULL,
		actor_type  TEXT NOT NULL,
		actor_id    TEXT NOT NULL,
		token_id    TEXT NOT NULL DEFAULT '',
		fleet_id    TEXT NOT NULL DEFAULT '',
		request_id  TEXT NOT NULL,
		source_ip   TEXT NOT NULL,
		user_agent  TEXT NOT NULL,
		status_code INTEGER NOT NULL
	);
	CREATE INDEX events_by_time ON events (time, seq);
	CREATE INDEX events_by_fleet ON events (fleet_id, time, seq);
	CREATE INDEX events_by_token ON events (token_id, time, seq);
	CREATE INDEX events_by_action ON events (action, time, seq);`,
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
	// A 64 MiB page cache keeps the indexes of a full audit log (100,000
	// events: about 45 MiB) in memory.
	dsn := path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=cache_size(-65536)&_txlock=immediate"
	if path == "" {
		dsn = ":memory:?_txlock=immediate"
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
	return d, nil
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
	for _, st := range d.stmts {
		_ = st.Close()
	}
	return d.db.Close()
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

// load reads the whole database into a store; nil when it was never seeded.
func (d *stateDB) load() (*store, error) {
	meta := map[string]string{}
	if err := eachRow(d.db, `SELECT key, value FROM meta`, func(r *sql.Rows) error {
		var k, v string
		if err := r.Scan(&k, &v); err != nil {
			return err
		}
		meta[k] = v
		return nil
	}); err != nil {
		return nil, err
	}
	if meta[metaOwner] == "" {
		return nil, nil // created but never seeded (or a crash before the seed committed)
	}
	st := newStore()
	st.ownerUserID, st.fleetID, st.adminTokenID = meta[metaOwner], meta[metaFleet], meta[metaAdminToken]
	var err error
	parseInt := func(k string) int64 {
		n, e := strconv.ParseInt(meta[k], 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("meta %s: %w", k, e)
		}
		return n
	}
	st.clockOffset = time.Duration(parseInt(metaClockOffset))
	st.eventSeq = uint64(parseInt(metaEventSeq))
	st.memberSeq = int(parseInt(metaMemberSeq))
	if st.lastNow, err = parseTime(meta[metaLastNow]); err != nil {
		return nil, fmt.Errorf("meta %s: %w", metaLastNow, err)
	}

	if err := eachRow(d.db, `SELECT id, name FROM users`, func(r *sql.Rows) error {
		u := &user{}
		if err := r.Scan(&u.ID, &u.Name); err != nil {
			return err
		}
		st.users[u.ID] = u
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(d.db, `SELECT id, name FROM fleets`, func(r *sql.Rows) error {
		f := &fleet{Members: map[string]string{}}
		if err := r.Scan(&f.ID, &f.Name); err != nil {
			return err
		}
		st.fleets[f.ID] = f
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(d.db, `SELECT fleet_id, user_id, role FROM members`, func(r *sql.Rows) error {
		var fid, uid, role string
		if err := r.Scan(&fid, &uid, &role); err != nil {
			return err
		}
		if f := st.fleets[fid]; f != nil {
			f.Members[uid] = role
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(d.db, `SELECT id, fleet_id, user_id, name, key_prefix, scopes, created_at, expires_at, last_used_at, revoked_at, created_by_id, secret_sha256 FROM tokens`, func(r *sql.Rows) error {
		t := &tokenRecord{}
		var scopes, created string
		var expires, lastUsed, revoked sql.NullString
		if err := r.Scan(&t.ID, &t.FleetID, &t.UserID, &t.Name, &t.KeyPrefix, &scopes, &created, &expires, &lastUsed, &revoked, &t.CreatedByID, &t.SecretHash); err != nil {
			return err
		}
		var err error
		if err = json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
			return fmt.Errorf("token %s scopes: %w", t.ID, err)
		}
		if t.CreatedAt, err = parseTime(created); err != nil {
			return err
		}
		if t.ExpiresAt, err = parseTimePtr(expires); err != nil {
			return err
		}
		if t.LastUsedAt, err = parseTimePtr(lastUsed); err != nil {
			return err
		}
		if t.RevokedAt, err = parseTimePtr(revoked); err != nil {
			return err
		}
		t.savedLastUsed = cloneTime(t.LastUsedAt)
		st.addToken(t)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(d.db, `SELECT caller_token_id, key, request_sha256, token_id, created_at FROM idempotency`, func(r *sql.Rows) error {
		rec := &idemRecord{}
		var created string
		if err := r.Scan(&rec.CallerTokenID, &rec.Key, &rec.RequestHash, &rec.TokenID, &created); err != nil {
			return err
		}
		var err error
		if rec.CreatedAt, err = parseTime(created); err != nil {
			return err
		}
		st.idem[idemKey{caller: rec.CallerTokenID, key: rec.Key}] = rec
		return nil
	}); err != nil {
		return nil, err
	}
	var first, last sql.NullInt64
	var lastTime sql.NullString
	if err := d.db.QueryRow(`SELECT min(seq), max(seq), max(time) FROM events`).Scan(&first, &last, &lastTime); err != nil {
		return nil, err
	}
	if first.Valid {
		st.firstSeq = uint64(first.Int64)
		st.eventSeq = max(st.eventSeq, uint64(last.Int64))
		if st.lastEventTime, err = parseTime(lastTime.String); err != nil {
			return nil, err
		}
		if st.lastEventTime.After(st.lastNow) {
			st.lastNow = st.lastEventTime
		}
	}
	// A token's last use is its newest token.used event (a read writes
	// nothing else); its row holds it once older events were pruned.
	if err := eachRow(d.db, `SELECT token_id, max(time) FROM events WHERE action = 'token.used' GROUP BY token_id`, func(r *sql.Rows) error {
		var id, ts string
		if err := r.Scan(&id, &ts); err != nil {
			return err
		}
		used, err := parseTime(ts)
		if err != nil {
			return err
		}
		if t := st.tokens[id]; t != nil && (t.LastUsedAt == nil || used.After(*t.LastUsedAt)) {
			t.LastUsedAt = &used
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if st.users[st.ownerUserID] == nil || st.fleets[st.fleetID] == nil || st.tokens[st.adminTokenID] == nil {
		return nil, errors.New("the database lacks its owner, fleet or admin token")
	}
	return st, nil
}

func eachRow(db *sql.DB, query string, f func(*sql.Rows) error) error {
	rows, err := db.Query(query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// save writes st's pending changes in one transaction and clears them. On
// error nothing is cleared, so the next save retries them.
func (d *stateDB) save(st *store) (err error) {
	p := &st.pending
	tx, err := d.db.Begin()
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var unprepared []string // prepared after the commit, when the one connection is free
	exec := func(q string, args ...any) {
		if err != nil {
			return
		}
		if st, ok := d.stmts[q]; ok {
			_, err = tx.Stmt(st).Exec(args...)
			return
		}
		_, err = tx.Exec(q, args...)
		unprepared = append(unprepared, q)
	}
	if p.meta {
		for k, v := range map[string]string{
			metaOwner:       st.ownerUserID,
			metaFleet:       st.fleetID,
			metaAdminToken:  st.adminTokenID,
			metaClockOffset: strconv.FormatInt(int64(st.clockOffset), 10),
			metaLastNow:     fmtTime(st.lastNow),
			metaEventSeq:    strconv.FormatUint(st.eventSeq, 10),
			metaMemberSeq:   strconv.Itoa(st.memberSeq),
		} {
			exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, v)
		}
	}
	for id := range p.users {
		u := st.users[id]
		exec(`INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name`, u.ID, u.Name)
	}
	for id := range p.fleets {
		f := st.fleets[id]
		if f == nil { // removed
			exec(`DELETE FROM members WHERE fleet_id = ?`, id)
			exec(`DELETE FROM fleets WHERE id = ?`, id)
			continue
		}
		exec(`INSERT INTO fleets (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name`, f.ID, f.Name)
		exec(`DELETE FROM members WHERE fleet_id = ?`, f.ID)
		for uid, role := range f.Members {
			exec(`INSERT INTO members (fleet_id, user_id, role) VALUES (?, ?, ?)`, f.ID, uid, role)
		}
	}
	for id := range p.tokens {
		t := st.tokens[id]
		scopes, mErr := json.Marshal(t.Scopes)
		if mErr != nil && err == nil {
			err = mErr
		}
		exec(`INSERT INTO tokens (id, fleet_id, user_id, name, key_prefix, scopes, created_at, expires_at, last_used_at, revoked_at, created_by_id, secret_sha256)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at, last_used_at = excluded.last_used_at, revoked_at = excluded.revoked_at`,
			t.ID, t.FleetID, t.UserID, t.Name, t.KeyPrefix, string(scopes), fmtTime(t.CreatedAt),
			fmtTimePtr(t.ExpiresAt), fmtTimePtr(t.LastUsedAt), fmtTimePtr(t.RevokedAt), t.CreatedByID, t.SecretHash)
	}
	for k := range p.idemDel {
		exec(`DELETE FROM idempotency WHERE caller_token_id = ? AND key = ?`, k.caller, k.key)
	}
	for k := range p.idemPut {
		r := st.idem[k]
		if r == nil {
			continue // put, then expired before this save
		}
		exec(`INSERT INTO idempotency (caller_token_id, key, request_sha256, token_id, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (caller_token_id, key) DO UPDATE SET request_sha256 = excluded.request_sha256, token_id = excluded.token_id, created_at = excluded.created_at`,
			r.CallerTokenID, r.Key, r.RequestHash, r.TokenID, fmtTime(r.CreatedAt))
	}
	firstSeq := st.firstSeq
	for i := range p.events {
		e := &p.events[i]
		seq := eventSeqOf(e.ID)
		exec(`INSERT INTO events (seq, time, action, actor_type, actor_id, token_id, fleet_id, request_id, source_ip, user_agent, status_code)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			seq, fmtTime(e.Time), e.Action, e.Actor.Type, e.Actor.ID, e.TokenID, e.FleetID, e.RequestID, e.SourceIP, e.UserAgent, e.StatusCode)
		if firstSeq == 0 {
			firstSeq = seq
		}
	}
	var lastUsedSaved []*tokenRecord
	if err == nil && firstSeq > 0 {
		firstSeq, lastUsedSaved, err = prune(tx, st, firstSeq)
	}
	if err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return err
	}
	for _, q := range unprepared {
		_, _ = d.stmt(q)
	}
	for id := range p.tokens {
		t := st.tokens[id]
		t.savedLastUsed = cloneTime(t.LastUsedAt)
	}
	for _, t := range lastUsedSaved {
		t.savedLastUsed = cloneTime(t.LastUsedAt)
	}
	st.firstSeq = firstSeq
	st.pending.reset()
	return nil
}

// prunedUsesSQL finds the last use of each token among the events about to
// be pruned. The unary + keeps SQLite off the action index, which would scan
// every token.used event: the seq range is the rows to read.
const prunedUsesSQL = `SELECT token_id, max(time) FROM events WHERE seq BETWEEN ? AND ? AND +action = 'token.used' GROUP BY token_id`

// prune deletes the oldest events beyond st.retention, in tx, and returns
// the new first sequence number (0 when none is left). The events it deletes
// may hold the only record of a token's last use, so those tokens' rows get
// their last_used_at first; it returns them.
func prune(tx *sql.Tx, st *store, firstSeq uint64) (uint64, []*tokenRecord, error) {
	var through uint64 // delete every event up to this sequence number
	// Pruned in batches of 1% of the bound: deleting a run of neighbouring
	// index entries at once costs far less than one entry per request.
	if r := st.retention; r.MaxEvents > 0 && st.eventSeq-firstSeq+1 > uint64(r.MaxEvents+r.MaxEvents/100) {
		through = st.eventSeq - uint64(r.MaxEvents)
	}
	if r := st.retention; r.MaxAge > 0 {
		var seq sql.NullInt64
		if err := tx.QueryRow(`SELECT max(seq) FROM events WHERE time < ?`, fmtTime(st.lastNow.Add(-r.MaxAge))).Scan(&seq); err != nil {
			return 0, nil, err
		}
		if seq.Valid {
			through = max(through, uint64(seq.Int64))
		}
	}
	if through < firstSeq {
		return firstSeq, nil, nil
	}
	var saved []*tokenRecord
	rows, err := tx.Query(prunedUsesSQL, firstSeq, through)
	if err != nil {
		return 0, nil, err
	}
	for rows.Next() {
		var id, ts string
		if err := rows.Scan(&id, &ts); err != nil {
			rows.Close()
			return 0, nil, err
		}
		used, err := parseTime(ts)
		if err != nil {
			rows.Close()
			return 0, nil, err
		}
		if t := st.tokens[id]; t != nil && t.LastUsedAt != nil && (t.savedLastUsed == nil || t.savedLastUsed.Before(used)) {
			saved = append(saved, t)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	for _, t := range saved {
		if _, err := tx.Exec(`UPDATE tokens SET last_used_at = ? WHERE id = ?`, fmtTime(*t.LastUsedAt), t.ID); err != nil {
			return 0, nil, err
		}
	}
	if _, err := tx.Exec(`DELETE FROM events WHERE seq <= ?`, through); err != nil {
		return 0, nil, err
	}
	if through >= st.eventSeq {
		return 0, saved, nil
	}
	return through + 1, saved, nil
}

// eventID is "evt_" and the sequence number in twelve digits at least.
func eventID(seq uint64) string {
	var b [32]byte
	digits := strconv.AppendUint(b[:0], seq, 10)
	out := make([]byte, 0, 4+max(12, len(digits)))
	out = append(out, "evt_"...)
	for range 12 - len(digits) {
		out = append(out, '0')
	}
	return string(append(out, digits...))
}

func eventSeqOf(id string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimPrefix(id, "evt_"), 10, 64)
	return n
}

// stateFileV1 is the JSON state file of cmdop-local before the database,
// read only to import it.
type stateFileV1 struct {
	Version       int              `json:"version"`
	OwnerUserID   string           `json:"owner_user_id"`
	FleetID       string           `json:"fleet_id"`
	AdminTokenID  string           `json:"admin_token_id"`
	ClockOffsetNS int64            `json:"clock_offset_ns"`
	LastNow       time.Time        `json:"last_now"`
	EventSeq      uint64           `json:"event_seq"`
	MemberSeq     int              `json:"member_seq"`
	Users         []*user          `json:"users"`
	Fleets        []*fleet         `json:"fleets"`
	Tokens        []*tokenRecord   `json:"tokens"`
	Events        []cmdopapi.Event `json:"events"`
	Idempotency   []*idemRecord    `json:"idempotency"`
}

// importJSON replaces the JSON state file at path by a database holding the
// same state. The JSON file is copied to path+".json-v1" first, and the
// database is built beside it and renamed over path, so a crash at any point
// leaves either the JSON file (imported again on the next start) or the
// complete database.
func importJSON(path string) error {
	refuse := func(err error) error {
		return fmt.Errorf("%s is a cmdop-local JSON state file that cannot be imported (%v); move it away or delete it to start fresh with a new state database", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var sf stateFileV1
	if err := json.Unmarshal(data, &sf); err != nil {
		return refuse(err)
	}
	if sf.Version != 1 {
		return refuse(fmt.Errorf("unsupported version %d", sf.Version))
	}
	st := newStore()
	st.ownerUserID, st.fleetID, st.adminTokenID = sf.OwnerUserID, sf.FleetID, sf.AdminTokenID
	st.clockOffset, st.lastNow = time.Duration(sf.ClockOffsetNS), sf.LastNow
	st.eventSeq, st.memberSeq = sf.EventSeq, sf.MemberSeq
	for _, u := range sf.Users {
		st.users[u.ID] = u
	}
	for _, f := range sf.Fleets {
		if f.Members == nil {
			f.Members = map[string]string{}
		}
		st.fleets[f.ID] = f
	}
	for _, t := range sf.Tokens {
		st.addToken(t)
	}
	for _, r := range sf.Idempotency {
		st.idem[idemKey{caller: r.CallerTokenID, key: r.Key}] = r
	}
	if st.users[st.ownerUserID] == nil || st.fleets[st.fleetID] == nil || st.tokens[st.adminTokenID] == nil {
		return refuse(errors.New("it lacks its owner, fleet or admin token"))
	}
	for _, e := range sf.Events {
		e.UserAgent = truncateHeader(e.UserAgent)
		st.pending.events = append(st.pending.events, e)
	}
	st.markAll()

	if err := writeFileAtomic(path+".json-v1", data); err != nil {
		return err
	}
	tmp := path + ".import"
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
		return err
	} else {
		_ = f.Close()
	}
	d, err := openDB(tmp)
	if err != nil {
		return err
	}
	if err := d.save(st); err != nil {
		_ = d.close()
		return fmt.Errorf("importing %s: %w", path, err)
	}
	if err := d.close(); err != nil { // checkpoints the WAL into tmp
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// writeFileAtomic replaces path with data so that a crash at any moment leaves
// either the old or the new content: it writes a temporary file in the same
// directory, fsyncs it, renames it over path and fsyncs the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
