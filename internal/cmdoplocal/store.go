package cmdoplocal

import (
	"cmp"
	"fmt"
	"slices"
	"time"

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
	events []cmdopapi.Event // in (time, id) order
	idem   map[idemKey]*idemRecord

	// Indexes rebuilt from the above on load.
	byHash      map[string]*tokenRecord
	fleetTokens map[string][]*tokenRecord // sorted by compareTokens
	userTokens  map[string][]*tokenRecord // personal tokens, sorted by compareTokens

	dirty bool // changed since the last save
}

func newStore() *store {
	return &store{
		users:       map[string]*user{},
		fleets:      map[string]*fleet{},
		tokens:      map[string]*tokenRecord{},
		idem:        map[idemKey]*idemRecord{},
		byHash:      map[string]*tokenRecord{},
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
	st.dirty = true
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
	st.dirty = true
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
	st.dirty = true
}

// appendEvent assigns e the next id and the current time and records it.
func (st *store) appendEvent(base func() time.Time, e cmdopapi.Event) {
	st.eventSeq++
	e.ID = fmt.Sprintf("evt_%012d", st.eventSeq)
	e.Time = st.now(base)
	if n := len(st.events); n > 0 && e.Time.Before(st.events[n-1].Time) {
		e.Time = st.events[n-1].Time // keep the log in time order whatever happens
	}
	st.events = append(st.events, e)
	st.dirty = true
}

// manageableFleets returns the fleets whose tokens the caller may manage.
func (st *store) manageableFleets(caller *tokenRecord) map[string]bool {
	out := map[string]bool{}
	if !caller.isPersonal() {
		if caller.hasScope(scopePermissionsManage) {
			out[caller.FleetID] = true
		}
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
