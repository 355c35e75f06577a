package cmdoplocal

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
	"unicode/utf8"
)

// idempotencyWindow is how long, in server time, an Idempotency-Key is remembered.
const idempotencyWindow = 10 * time.Minute

// idemKey identifies an idempotency record: keys are per caller token.
type idemKey struct{ caller, key string }

// idemRecord remembers a create made with an Idempotency-Key.
type idemRecord struct {
	CallerTokenID string    `json:"caller_token_id"`
	Key           string    `json:"key"`
	RequestHash   string    `json:"request_sha256"`
	TokenID       string    `json:"token_id"`
	CreatedAt     time.Time `json:"created_at"`

	// response is the original 201 body. It holds the new token's secret, so it
	// lives in memory only and is lost on restart.
	response []byte
}

// requestHash is the SHA-256 of the canonical request: method, path and body.
func requestHash(method, path string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// validIdempotencyKey checks the contract's 1–255 characters.
func validIdempotencyKey(k string) bool {
	n := utf8.RuneCountInString(k)
	return n >= 1 && n <= 255
}

// idemQueue holds the idempotency records in the order they were made,
// which is the order they expire in: the server clock never goes back, and a
// record lives exactly idempotencyWindow. Expiry pops from the front, so a
// request pays for the records that expire, never for the ones that live.
type idemQueue struct {
	recs []*idemRecord
	head int // recs[:head] are popped
}

func (q *idemQueue) push(r *idemRecord) { q.recs = append(q.recs, r) }

func (q *idemQueue) len() int { return len(q.recs) - q.head }

// front returns the oldest record, or nil.
func (q *idemQueue) front() *idemRecord {
	if q.head == len(q.recs) {
		return nil
	}
	return q.recs[q.head]
}

func (q *idemQueue) pop() {
	q.recs[q.head] = nil
	q.head++
	// Compact once the popped half outweighs the live one: amortised O(1).
	if q.head > 64 && q.head*2 >= len(q.recs) {
		n := copy(q.recs, q.recs[q.head:])
		clear(q.recs[n:])
		q.recs = q.recs[:n]
		q.head = 0
	}
}

// expired reports whether r is past its window at now: it lives from its
// creation up to, not including, creation + idempotencyWindow.
func (r *idemRecord) expired(now time.Time) bool {
	return !now.Before(r.CreatedAt.Add(idempotencyWindow))
}

// expireIdem drops the records whose window has ended at now, oldest first,
// and marks their rows for deletion.
func (st *store) expireIdem(now time.Time) {
	for r := st.idemOrder.front(); r != nil && r.expired(now); r = st.idemOrder.front() {
		st.idemOrder.pop()
		k := idemKey{caller: r.CallerTokenID, key: r.Key}
		if st.idem[k] != r {
			continue // replaced by a newer record of the same key
		}
		delete(st.idem, k)
		delete(st.pending.idemPut, k)
		mark(&st.pending.idemDel, k)
	}
}

// addIdem indexes r; records must come in the order they were made.
func (st *store) addIdem(r *idemRecord) {
	st.idem[idemKey{caller: r.CallerTokenID, key: r.Key}] = r
	st.idemOrder.push(r)
}

// lookupIdem returns the live record of caller's key, or nil, after
// dropping the records that have expired by now.
func (st *store) lookupIdem(now time.Time, caller, key string) *idemRecord {
	st.expireIdem(now)
	return st.idem[idemKey{caller: caller, key: key}]
}

// checkIdempotency decides what a create with an Idempotency-Key does. It
// returns the body to replay, or an error, or neither when the create should
// go ahead.
func (st *store) checkIdempotency(now time.Time, caller, key, hash string) ([]byte, *apiError) {
	rec := st.lookupIdem(now, caller, key)
	if rec == nil {
		return nil, nil
	}
	if rec.RequestHash != hash {
		return nil, errConflict(map[string]any{"idempotency_key": key},
			"Idempotency-Key %q was already used for a different request; use a new key for a new request.", key)
	}
	if rec.response == nil {
		return nil, errConflict(map[string]any{"idempotency_key": key, "token_id": rec.TokenID},
			"Idempotency-Key %q already created token %s, but its secret can no longer be returned because the server restarted; revoke that token or retry with a new Idempotency-Key.", key, rec.TokenID)
	}
	return rec.response, nil
}

// rememberIdem records a successful create made with an Idempotency-Key.
func (st *store) rememberIdem(now time.Time, caller, key, hash, tokenID string, response []byte) {
	st.addIdem(&idemRecord{
		CallerTokenID: caller,
		Key:           key,
		RequestHash:   hash,
		TokenID:       tokenID,
		CreatedAt:     now,
		response:      response,
	})
	k := idemKey{caller: caller, key: key}
	delete(st.pending.idemDel, k)
	mark(&st.pending.idemPut, k)
}
