package cmdoplocal

// Loading the store from the state database, and saving what changed.

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
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
	var last sql.NullInt64
	var lastTime sql.NullString
	if err := d.db.QueryRow(`SELECT max(seq), max(time) FROM events`).Scan(&last, &lastTime); err != nil {
		return nil, err
	}
	if last.Valid {
		st.eventSeq = max(st.eventSeq, uint64(last.Int64))
		if st.lastEventTime, err = parseTime(lastTime.String); err != nil {
			return nil, err
		}
		if st.lastEventTime.After(st.lastNow) {
			st.lastNow = st.lastEventTime
		}
	}
	if err := eachRow(d.db, `SELECT collection, count(*) FROM events GROUP BY collection`, func(r *sql.Rows) error {
		var col string
		var n int
		if err := r.Scan(&col, &n); err != nil {
			return err
		}
		st.eventCount[col] = n
		st.totalEvents += n
		return nil
	}); err != nil {
		return nil, err
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
	added := map[string]int{} // events per collection that this commit adds
	for i := range p.events {
		e := &p.events[i]
		doc, mErr := json.Marshal(e)
		if mErr != nil && err == nil {
			err = mErr
		}
		col := st.eventCollection(e)
		exec(`INSERT INTO events (seq, time, action, actor_id, token_id, fleet_id, collection, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			eventSeqOf(e.ID), fmtTime(e.Time), e.Action, e.Actor.ID, e.TokenID, e.FleetID, col, string(doc))
		added[col]++
	}
	pr := &pruner{tx: tx, d: d, st: st, delta: added}
	if err == nil {
		err = pr.prune(p.meta)
	}
	if err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return err
	}
	for _, q := range append(unprepared, pr.unprepared...) {
		_, _ = d.stmt(q)
	}
	for id := range p.tokens {
		t := st.tokens[id]
		t.savedLastUsed = cloneTime(t.LastUsedAt)
	}
	for _, t := range pr.lastUsedSaved {
		t.savedLastUsed = cloneTime(t.LastUsedAt)
	}
	for col, n := range pr.delta {
		st.eventCount[col] += n
		st.totalEvents += n
		if st.eventCount[col] <= 0 {
			delete(st.eventCount, col)
		}
	}
	st.pending.reset()
	return nil
}

// pruner deletes, inside a save's transaction, the oldest events beyond
// the retention: by age over the whole log, by count in each collection
// (a fleet, or a user's personal tokens), and by count over the whole log,
// the global cap for disk, which trims the largest collections first so
// that one caller's volume never evicts another's trail.
type pruner struct {
	tx *sql.Tx
	d  *stateDB
	st *store
	// delta is the change of each collection's event count in this
	// transaction; it is applied to the store once the commit succeeded.
	delta         map[string]int
	lastUsedSaved []*tokenRecord
	unprepared    []string
}

func (pr *pruner) count(col string) int { return pr.st.eventCount[col] + pr.delta[col] }

// stmt runs q on the prepared statement, or unprepared (and prepared after the commit).
func (pr *pruner) query(q string, args ...any) (*sql.Rows, error) {
	if st, ok := pr.d.stmts[q]; ok {
		return pr.tx.Stmt(st).Query(args...)
	}
	pr.unprepared = append(pr.unprepared, q)
	return pr.tx.Query(q, args...)
}

func (pr *pruner) exec(q string, args ...any) (sql.Result, error) {
	if st, ok := pr.d.stmts[q]; ok {
		return pr.tx.Stmt(st).Exec(args...)
	}
	pr.unprepared = append(pr.unprepared, q)
	return pr.tx.Exec(q, args...)
}

func (pr *pruner) queryRow(dst any, q string, args ...any) (bool, error) {
	rows, err := pr.query(q, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	if err := rows.Scan(dst); err != nil {
		return false, err
	}
	return true, rows.Close()
}

// prune applies the retention. Each collection is checked when this commit
// adds to it, or every collection when all is true (a start, which may
// bring a shorter retention). Counts are pruned in batches of 1% of their
// bound: deleting a run of neighbouring index entries at once costs far
// less than one entry per request.
func (pr *pruner) prune(all bool) error {
	r := pr.st.retention
	if r.MaxAge > 0 {
		var seq sql.NullInt64
		if _, err := pr.queryRow(&seq, `SELECT max(seq) FROM events WHERE time < ?`, fmtTime(pr.st.lastNow.Add(-r.MaxAge))); err != nil {
			return err
		}
		if seq.Valid {
			if err := pr.deleteAged(seq.Int64); err != nil {
				return err
			}
		}
	}
	if r.MaxEvents > 0 {
		cols := pr.delta
		if all {
			cols = maps.Clone(pr.st.eventCount)
		}
		for _, col := range slices.Sorted(maps.Keys(cols)) {
			if pr.count(col) > r.MaxEvents+r.MaxEvents/100 {
				if err := pr.trim(col, r.MaxEvents); err != nil {
					return err
				}
			}
		}
	}
	if r.MaxTotal > 0 {
		total := pr.st.totalEvents
		for _, n := range pr.delta {
			total += n
		}
		if total > r.MaxTotal+r.MaxTotal/100 {
			counts := map[string]int{}
			for col := range pr.st.eventCount {
				counts[col] = pr.count(col)
			}
			for col := range pr.delta {
				counts[col] = pr.count(col)
			}
			level := fairLevel(slices.Collect(maps.Values(counts)), r.MaxTotal)
			for _, col := range slices.Sorted(maps.Keys(counts)) {
				if counts[col] > level {
					if err := pr.trim(col, level); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// fairLevel is the largest per-collection level L such that keeping at
// most L events of each collection keeps at most total events in all:
// max-min fairness, so that small collections keep all they have and only
// the largest are trimmed.
func fairLevel(counts []int, total int) int {
	slices.SortFunc(counts, func(a, b int) int { return b - a }) // largest first
	rest := 0
	for _, c := range counts {
		rest += c
	}
	for k := 1; k <= len(counts); k++ {
		rest -= counts[k-1] // the collections after the k largest
		level := (total - rest) / k
		next := 0
		if k < len(counts) {
			next = counts[k]
		}
		if level >= next {
			return max(0, min(level, counts[k-1]))
		}
	}
	return 0
}

// trim deletes col's oldest events until keep are left.
func (pr *pruner) trim(col string, keep int) error {
	n := pr.count(col) - keep
	if n <= 0 {
		return nil
	}
	var through int64
	found, err := pr.queryRow(&through, `SELECT seq FROM events WHERE collection = ? ORDER BY seq LIMIT 1 OFFSET ?`, col, n-1)
	if err != nil || !found {
		return err
	}
	if err := pr.saveLastUses(trimmedUsesSQL, col, through); err != nil {
		return err
	}
	res, err := pr.exec(`DELETE FROM events WHERE collection = ? AND seq <= ?`, col, through)
	if err != nil {
		return err
	}
	deleted, err := res.RowsAffected()
	if err != nil {
		return err
	}
	pr.delta[col] -= int(deleted)
	return nil
}

// deleteAged deletes every event up to seq, which are older than MaxAge.
func (pr *pruner) deleteAged(through int64) error {
	rows, err := pr.query(`SELECT collection, count(*) FROM events WHERE seq <= ? GROUP BY collection`, through)
	if err != nil {
		return err
	}
	gone := map[string]int{}
	for rows.Next() {
		var col string
		var n int
		if err := rows.Scan(&col, &n); err != nil {
			rows.Close()
			return err
		}
		gone[col] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := pr.saveLastUses(prunedUsesSQL, 1, through); err != nil {
		return err
	}
	if _, err := pr.exec(`DELETE FROM events WHERE seq <= ?`, through); err != nil {
		return err
	}
	for col, n := range gone {
		pr.delta[col] -= n
	}
	return nil
}

// prunedUsesSQL finds the last use of each token among the events about to
// be pruned by age. The unary + keeps SQLite off the action index, which
// would scan every token.used event: the seq range is the rows to read.
const prunedUsesSQL = `SELECT token_id, max(time) FROM events WHERE seq BETWEEN ? AND ? AND +action = 'token.used' GROUP BY token_id`

// trimmedUsesSQL is prunedUsesSQL for the oldest events of one collection,
// read through events_by_collection.
const trimmedUsesSQL = `SELECT token_id, max(time) FROM events INDEXED BY events_by_collection WHERE collection = ? AND seq <= ? AND +action = 'token.used' GROUP BY token_id`

// saveLastUses writes, before the events that q selects are deleted, the
// last use that they may be the only record of into their tokens' rows.
func (pr *pruner) saveLastUses(q string, args ...any) error {
	var saved []*tokenRecord
	rows, err := pr.query(q, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, ts string
		if err := rows.Scan(&id, &ts); err != nil {
			rows.Close()
			return err
		}
		used, err := parseTime(ts)
		if err != nil {
			rows.Close()
			return err
		}
		if t := pr.st.tokens[id]; t != nil && t.LastUsedAt != nil && (t.savedLastUsed == nil || t.savedLastUsed.Before(used)) {
			saved = append(saved, t)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range saved {
		if _, err := pr.exec(`UPDATE tokens SET last_used_at = ? WHERE id = ?`, fmtTime(*t.LastUsedAt), t.ID); err != nil {
			return err
		}
	}
	pr.lastUsedSaved = append(pr.lastUsedSaved, saved...)
	return nil
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
