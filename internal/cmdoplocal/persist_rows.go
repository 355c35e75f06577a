package cmdoplocal

// Loading the store from the state database, and saving what changed.

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
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
	// In the order they expire (idempotency_by_time), for the expiry queue.
	if err := eachRow(d.db, `SELECT caller_token_id, key, request_sha256, token_id, created_at FROM idempotency ORDER BY created_at, caller_token_id, key`, func(r *sql.Rows) error {
		rec := &idemRecord{}
		var created string
		if err := r.Scan(&rec.CallerTokenID, &rec.Key, &rec.RequestHash, &rec.TokenID, &created); err != nil {
			return err
		}
		var err error
		if rec.CreatedAt, err = parseTime(created); err != nil {
			return err
		}
		st.addIdem(rec)
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
		doc, mErr := json.Marshal(e)
		if mErr != nil && err == nil {
			err = mErr
		}
		exec(`INSERT INTO events (seq, time, action, actor_id, token_id, fleet_id, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			seq, fmtTime(e.Time), e.Action, e.Actor.ID, e.TokenID, e.FleetID, string(doc))
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
