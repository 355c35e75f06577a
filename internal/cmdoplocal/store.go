package cmdoplocal

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Fleet roles.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// user is a CMDOP account.
type user struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// fleet is a fleet and its members.
type fleet struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Members map[string]string `json:"members"` // user id → role
}

// tokenRecord is a stored token. The secret itself is never kept: only its
// SHA-256, which is what authentication looks tokens up by.
type tokenRecord struct {
	ID          string     `json:"id"`
	FleetID     string     `json:"fleet_id,omitempty"`
	UserID      string     `json:"user_id,omitempty"`
	Name        string     `json:"name"`
	KeyPrefix   string     `json:"key_prefix"`
	Scopes      []string   `json:"scopes"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	CreatedByID string     `json:"created_by_id,omitempty"`
	SecretHash  string     `json:"secret_sha256"`

	// savedLastUsed is LastUsedAt as last written to the database: a read
	// writes only its token.used event, from which LastUsedAt is rebuilt.
	savedLastUsed *time.Time
}

// status computes the token's status at now.
func (t *tokenRecord) status(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return cmdopapi.StatusRevoked
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return cmdopapi.StatusExpired
	default:
		return cmdopapi.StatusActive
	}
}

// isPersonal reports whether t is a personal token rather than a fleet token.
func (t *tokenRecord) isPersonal() bool { return t.FleetID == "" }

func (t *tokenRecord) hasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// wire returns the API representation of t at now.
func (t *tokenRecord) wire(now time.Time) cmdopapi.Token {
	return cmdopapi.Token{
		ID:          t.ID,
		FleetID:     t.FleetID,
		UserID:      t.UserID,
		Name:        t.Name,
		KeyPrefix:   t.KeyPrefix,
		Scopes:      slices.Clone(t.Scopes),
		CreatedAt:   t.CreatedAt,
		ExpiresAt:   cloneTime(t.ExpiresAt),
		LastUsedAt:  cloneTime(t.LastUsedAt),
		RevokedAt:   cloneTime(t.RevokedAt),
		CreatedByID: t.CreatedByID,
		Status:      t.status(now),
	}
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// compareTokens orders tokens by created_at, then id: the listing order.
func compareTokens(a, b *tokenRecord) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// store is the whole server state. Every method expects Server.mu to be held.
type store struct {
	ownerUserID  string
	fleetID      string // the seeded fleet
	adminTokenID string

	clockOffset time.Duration
	lastNow     time.Time // the clock never goes backwards
	eventSeq    uint64
	memberSeq   int

	users  map[string]*user
	fleets map[string]*fleet
	tokens map[string]*tokenRecord
	idem   map[idemKey]*idemRecord
	// idemOrder holds the records of idem in the order they expire.
	idemOrder idemQueue

	// The audit log lives in the database only (it is the table that
	// grows). Its sequence numbers are in time order; eventCount is how many
	// events the database holds in each collection (eventCollection), and
	// totalEvents their sum.
	eventCount    map[string]int
	totalEvents   int
	lastEventTime time.Time

	// Indexes rebuilt from the above on load.
	byHash      map[string]*tokenRecord
	fleetTokens map[string][]*tokenRecord // sorted by compareTokens
	userTokens  map[string][]*tokenRecord // personal tokens, sorted by compareTokens

	retention Retention
	pending   pending // changed since the last save
}

// pending is what changed since the last save: what the next commit writes.
type pending struct {
	meta    bool
	users   map[string]bool
	fleets  map[string]bool // the fleet and its members
	tokens  map[string]bool
	idemPut map[idemKey]bool
	idemDel map[idemKey]bool
	events  []cmdopapi.Event // appended, not yet in the database
}

func (p *pending) reset() { *p = pending{} }

func (p *pending) any() bool {
	return p.meta || len(p.users) > 0 || len(p.fleets) > 0 || len(p.tokens) > 0 || len(p.idemPut) > 0 ||
		len(p.idemDel) > 0 || len(p.events) > 0
}

func mark[K comparable](m *map[K]bool, k K) {
	if *m == nil {
		*m = map[K]bool{}
	}
	(*m)[k] = true
}

func (st *store) touchMeta()                { st.pending.meta = true }
func (st *store) touchUser(u *user)         { mark(&st.pending.users, u.ID) }
func (st *store) touchFleet(f *fleet)       { mark(&st.pending.fleets, f.ID) }
func (st *store) touchToken(t *tokenRecord) { mark(&st.pending.tokens, t.ID) }

// markAll marks everything as changed, for writing a whole store.
func (st *store) markAll() {
	st.touchMeta()
	for _, u := range st.users {
		st.touchUser(u)
	}
	for _, f := range st.fleets {
		st.touchFleet(f)
	}
	for _, t := range st.tokens {
		st.touchToken(t)
	}
	for k := range st.idem {
		mark(&st.pending.idemPut, k)
	}
}

// Retention bounds the audit log. Events older than MaxAge in server time
// are pruned. Each collection, that is each fleet and each user's personal
// tokens, keeps its newest MaxEvents, so that one caller's volume never
// evicts another collection's trail. MaxTotal caps the whole log, for disk:
// beyond it the largest collections are trimmed to a common level, and the
// smaller ones keep everything. Zero or less means no bound of that kind.
type Retention struct {
	MaxEvents int // per collection
	MaxAge    time.Duration
	MaxTotal  int // over all collections
}

// DefaultRetention is the audit retention of a server whose Options leave it unset.
var DefaultRetention = Retention{MaxEvents: 100000, MaxTotal: 500000}

// eventCollection is the collection whose retention e counts against: the
// fleet it concerns, or the user whose personal token it concerns.
func (st *store) eventCollection(e *cmdopapi.Event) string {
	if e.FleetID != "" {
		return "fleet:" + e.FleetID
	}
	if t := st.tokens[e.TokenID]; t != nil && t.UserID != "" {
		return "user:" + t.UserID
	}
	return ""
}

// ParseRetention parses a retention such as "100000" (events per
// collection), "30d" (an age, in server time), "100000,30d" (both) or "off"
// (no bound of either kind). It leaves MaxTotal unset (no cap); see
// ParseRetentionTotal.
func ParseRetention(s string) (Retention, error) {
	r := Retention{MaxEvents: -1, MaxAge: -1}
	if strings.TrimSpace(s) == "off" {
		return r, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if n, err := strconv.Atoi(part); err == nil {
			if n < 1 || r.MaxEvents > 0 {
				return Retention{}, fmt.Errorf("invalid audit retention %q: give one event count of 1 or more", s)
			}
			r.MaxEvents = n
			continue
		}
		d, err := parseDuration(part)
		if err != nil || d <= 0 || r.MaxAge > 0 {
			return Retention{}, fmt.Errorf(`invalid audit retention %q: give an event count, an age such as 30d, both as "100000,30d", or "off"`, s)
		}
		r.MaxAge = d
	}
	return r, nil
}

// ParseRetentionTotal parses the cap over all collections: an event count
// of 1 or more, or "off" (-1: no cap).
func ParseRetentionTotal(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf(`invalid total audit retention %q: give an event count of 1 or more, or "off"`, s)
	}
	return n, nil
}

// maxHeaderLen bounds each request header value kept in an audit event.
const maxHeaderLen = 256

// truncateHeader cuts s to at most maxHeaderLen bytes, on a UTF-8 boundary.
func truncateHeader(s string) string {
	if len(s) <= maxHeaderLen {
		return s
	}
	s = s[:maxHeaderLen]
	for i := 0; i < utf8.UTFMax && len(s) > 0 && !utf8.ValidString(s); i++ {
		s = s[:len(s)-1]
	}
	return s
}

func newStore() *store {
	return &store{
		users:       map[string]*user{},
		fleets:      map[string]*fleet{},
		tokens:      map[string]*tokenRecord{},
		idem:        map[idemKey]*idemRecord{},
		byHash:      map[string]*tokenRecord{},
		eventCount:  map[string]int{},
		fleetTokens: map[string][]*tokenRecord{},
		userTokens:  map[string][]*tokenRecord{},
	}
}

// seed creates the owner, their fleet and their admin token holding every scope.
func (st *store) seed(now time.Time, fleetID, adminSecret string) {
	owner := &user{ID: uuid.NewString(), Name: "Owner"}
	st.users[owner.ID] = owner
	st.ownerUserID = owner.ID
	st.fleets[fleetID] = &fleet{ID: fleetID, Name: "Default fleet", Members: map[string]string{owner.ID: RoleOwner}}
	st.fleetID = fleetID
	tok := st.newToken(now, adminSecret, "", owner.ID, "admin", slices.Clone(cmdopapi.Scopes), nil, owner.ID)
	st.adminTokenID = tok.ID
	st.lastNow = now
	st.markAll()
}

// now returns the server clock: the base clock plus the offset, never earlier
// than a time it returned before.
func (st *store) now(base func() time.Time) time.Time {
	t := base().Add(st.clockOffset).UTC()
	if t.Before(st.lastNow) {
		t = st.lastNow
	}
	st.lastNow = t
	return t
}

// newToken stores a token for secret and returns it.
func (st *store) newToken(now time.Time, secret, fleetID, userID, name string, scopes []string, expiresAt *time.Time, createdBy string) *tokenRecord {
	t := &tokenRecord{
		ID:          uuid.NewString(),
		FleetID:     fleetID,
		UserID:      userID,
		Name:        name,
		KeyPrefix:   secret[:keyPrefixLen],
		Scopes:      scopes,
		CreatedAt:   now,
		ExpiresAt:   expiresAt,
		CreatedByID: createdBy,
		SecretHash:  hashSecret(secret),
	}
	st.addToken(t)
	st.touchToken(t)
	return t
}

// addToken indexes t.
func (st *store) addToken(t *tokenRecord) {
	st.tokens[t.ID] = t
	st.byHash[t.SecretHash] = t
	if t.isPersonal() {
		st.userTokens[t.UserID] = insertSorted(st.userTokens[t.UserID], t)
	} else {
		st.fleetTokens[t.FleetID] = insertSorted(st.fleetTokens[t.FleetID], t)
	}
}

func insertSorted(list []*tokenRecord, t *tokenRecord) []*tokenRecord {
	i, _ := slices.BinarySearchFunc(list, t, compareTokens)
	return slices.Insert(list, i, t)
}

// lookupSecret finds the token whose secret is secret, or nil.
func (st *store) lookupSecret(secret string) *tokenRecord {
	h := hashSecret(secret)
	t := st.byHash[h]
	if t == nil || !hashesEqual(t.SecretHash, h) {
		return nil
	}
	return t
}

// revoke marks t revoked at now.
func (st *store) revoke(t *tokenRecord, now time.Time) {
	r := now
	t.RevokedAt = &r
	st.touchToken(t)
}

// appendEvent assigns e the next id and the current time, records it and
// returns its time. Header values are cut to maxHeaderLen bytes. The next
// commit writes it, and prunes the oldest events beyond the retention.
func (st *store) appendEvent(base func() time.Time, e cmdopapi.Event) time.Time {
	st.eventSeq++
	e.ID = eventID(st.eventSeq)
	e.Time = st.now(base)
	if e.Time.Before(st.lastEventTime) {
		e.Time = st.lastEventTime // keep the log in time order whatever happens
	}
	st.lastEventTime = e.Time
	e.UserAgent = truncateHeader(e.UserAgent)
	st.pending.events = append(st.pending.events, e)
	return e.Time
}

// manageableFleets returns the fleets whose tokens the caller may manage.
func (st *store) manageableFleets(caller *tokenRecord) map[string]bool {
	out := map[string]bool{}
	if !caller.hasScope(scopePermissionsManage) {
		return out
	}
	if !caller.isPersonal() {
		out[caller.FleetID] = true
		return out
	}
	for id, f := range st.fleets {
		switch f.Members[caller.UserID] {
		case RoleOwner, RoleAdmin:
			out[id] = true
		}
	}
	return out
}
