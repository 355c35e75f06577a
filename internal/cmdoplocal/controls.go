package cmdoplocal

// The Go controls of a Server, which tests call directly and /_local/
// serves (local_handlers.go): its clock, fault injection, request
// statistics, members and fleets.

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Now returns the server clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.now(s.baseNow)
}

// AdvanceClock moves the server clock forward by d and returns the new time.
func (s *Server) AdvanceClock(d time.Duration) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d < 0 {
		return time.Time{}, errValidation("advance", "The clock only moves forward; give a positive duration such as 36h or 90d.")
	}
	if d > math.MaxInt64-s.st.clockOffset {
		return time.Time{}, errValidation("advance", "The clock cannot move that far; give a shorter duration.")
	}
	s.st.clockOffset += d
	s.st.touchMeta()
	now := s.st.now(s.baseNow) // the commit prunes events that just got too old
	if err := s.commitLocked(); err != nil {
		return now, errInternal("The server could not save its state: %v.", err)
	}
	return now, nil
}

// Faults returns the current fault configuration, with what is left of its script.
func (s *Server) Faults() FaultConfig { return s.faults.get() }

// SetFaults replaces the fault configuration and refills the rate-limit bucket.
func (s *Server) SetFaults(cfg FaultConfig) error {
	if err := cfg.validate(); err != nil {
		return errValidation("", "The fault configuration is invalid: %v.", err)
	}
	s.faults.set(cfg)
	return nil
}

// Stats returns the request statistics.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats zeroes the request statistics.
func (s *Server) ResetStats() { s.stats.reset() }

// AddFleet creates another fleet, owned by the seeded owner, and returns its
// id; an empty fleetID generates a UUID.
func (s *Server) AddFleet(fleetID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fleetID == "" {
		fleetID = uuid.NewString()
	}
	if err := checkFleetID(fleetID); err != nil {
		return "", err
	}
	if s.st.fleets[fleetID] != nil {
		return "", errConflict(map[string]any{"fleet_id": fleetID}, "Fleet %q already exists; choose another id or omit it.", fleetID)
	}
	f := &fleet{ID: fleetID, Name: "Fleet " + fleetID, Members: map[string]string{s.st.ownerUserID: RoleOwner}}
	s.st.fleets[fleetID] = f
	s.st.touchFleet(f)
	if err := s.commitLocked(); err != nil {
		return "", errInternal("The server could not save its state: %v.", err)
	}
	return fleetID, nil
}

// AddMember creates a user with role "admin" or "member" (empty means member)
// in fleet fleetID (empty means the seeded fleet), and gives them a personal
// token with every scope. It returns the user's id and the token's id and secret.
// The token's issuance is audited as token.issued by local-control, with the
// fleet's id.
func (s *Server) AddMember(fleetID, role, name string) (userID, tokenID, secret string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addMemberLocked(fleetID, role, name, cmdopapi.Event{RequestID: newRequestID(), StatusCode: http.StatusCreated})
}

// localControlActor is the actor of everything the test controls do.
var localControlActor = cmdopapi.Actor{Type: cmdopapi.ActorSystem, ID: "local-control"}

// addMemberLocked does AddMember; proto carries the request fields of the
// audit event it records.
func (s *Server) addMemberLocked(fleetID, role, name string, proto cmdopapi.Event) (userID, tokenID, secret string, err error) {
	if fleetID == "" {
		fleetID = s.st.fleetID
	}
	f := s.st.fleets[fleetID]
	if f == nil {
		return "", "", "", errNotFound(cmdopapi.ReasonFleetNotFound, "Fleet %q was not found; omit fleet_id to use the seeded fleet.", fleetID)
	}
	if role == "" {
		role = RoleMember
	}
	if role != RoleAdmin && role != RoleMember {
		return "", "", "", errValidation("role", "role must be %q or %q.", RoleAdmin, RoleMember)
	}
	s.st.memberSeq++
	if name == "" {
		name = fmt.Sprintf("Member %d", s.st.memberSeq)
	}
	now := s.st.now(s.baseNow)
	u := &user{ID: uuid.NewString(), Name: name}
	s.st.users[u.ID] = u
	f.Members[u.ID] = role
	s.st.touchUser(u)
	s.st.touchFleet(f)
	s.st.touchMeta() // memberSeq
	secret = newSecret()
	t := s.st.newToken(now, secret, "", u.ID, "default", slices.Clone(cmdopapi.Scopes), nil, u.ID)
	e := proto
	e.Action = cmdopapi.ActionTokenIssued
	e.Actor = localControlActor
	e.TokenID = t.ID
	e.FleetID = f.ID
	s.st.appendEvent(s.baseNow, e)
	if err := s.commitLocked(); err != nil {
		return "", "", "", errInternal("The server could not save its state: %v.", err)
	}
	return u.ID, t.ID, secret, nil
}

// RemoveMember removes a user from every fleet and revokes all their personal
// tokens, audited as token.revoked by local-control with the fleet_id of the
// fleet they left (the first by id if they were in several). Fleet tokens they created
// stay. A fleet owner cannot be removed.
func (s *Server) RemoveMember(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removeMemberLocked(userID, cmdopapi.Event{RequestID: newRequestID(), StatusCode: http.StatusNoContent})
}

// removeMemberLocked does RemoveMember; proto carries the request fields of
// the audit events it records.
func (s *Server) removeMemberLocked(userID string, proto cmdopapi.Event) error {
	if s.st.users[userID] == nil {
		return errNotFound(cmdopapi.ReasonUserNotFound, "User %q was not found; pass a user_id returned by POST /_local/members.", userID)
	}
	for _, f := range s.st.fleets {
		if f.Members[userID] == RoleOwner {
			return errConflict(map[string]any{"fleet_id": f.ID}, "User %s owns fleet %s and cannot be removed from it; remove an admin or member instead.", userID, f.ID)
		}
	}
	var removedFrom []string // sorted below so the choice of fleet_id is stable
	for _, f := range s.st.fleets {
		if _, ok := f.Members[userID]; ok {
			delete(f.Members, userID)
			s.st.touchFleet(f)
			removedFrom = append(removedFrom, f.ID)
		}
	}
	slices.Sort(removedFrom)
	if len(removedFrom) == 0 {
		return errNotFound(cmdopapi.ReasonUserNotFound, "User %s is not a member of any fleet; nothing to remove.", userID)
	}
	now := s.st.now(s.baseNow)
	for _, t := range s.st.userTokens[userID] {
		if t.RevokedAt != nil {
			continue
		}
		s.st.revoke(t, now)
		e := proto
		e.Action = cmdopapi.ActionTokenRevoked
		e.Actor = localControlActor
		e.TokenID = t.ID
		// The fleet the member left, so that its owner and admins see why the
		// tokens stopped working (members added by AddMember are in one fleet).
		e.FleetID = removedFrom[0]
		s.st.appendEvent(s.baseNow, e)
	}
	if err := s.commitLocked(); err != nil {
		return errInternal("The server could not save its state: %v.", err)
	}
	return nil
}

// checkFleetID refuses a fleet ID that no request path could address
// unambiguously, such as one with a slash or a space.
func checkFleetID(id string) *apiError {
	if !cmdopapi.FleetIDPattern.MatchString(id) {
		return errValidation("fleet_id", "Fleet ID %q is not routable: use 1 to 128 printable ASCII characters without spaces or slashes, or omit it to get a UUID.", id)
	}
	return nil
}

// RemoveFleet deletes a fleet other than the seeded one, revoking its
// tokens (audited as token.revoked by the system): afterwards every call on
// it answers fleet_not_found.
func (s *Server) RemoveFleet(fleetID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.fleets[fleetID] == nil {
		return errNotFound(cmdopapi.ReasonFleetNotFound, "Fleet %q was not found.", fleetID)
	}
	if fleetID == s.st.fleetID {
		return errConflict(map[string]any{"fleet_id": fleetID}, "The seeded fleet %s cannot be removed.", fleetID)
	}
	now := s.st.now(s.baseNow)
	for _, t := range s.st.fleetTokens[fleetID] {
		if t.RevokedAt == nil {
			s.st.revoke(t, now)
			s.st.appendEvent(s.baseNow, cmdopapi.Event{
				Action: cmdopapi.ActionTokenRevoked, Actor: cmdopapi.Actor{Type: cmdopapi.ActorSystem, ID: "fleet-removal"},
				TokenID: t.ID, FleetID: fleetID, RequestID: newRequestID(), StatusCode: http.StatusNoContent,
			})
		}
	}
	s.st.touchFleet(s.st.fleets[fleetID]) // the commit deletes its row and members
	delete(s.st.fleets, fleetID)
	if err := s.commitLocked(); err != nil {
		return errInternal("The server could not save its state: %v.", err)
	}
	return nil
}

// revokeTrigger is a pending RevokeAfterWrites.
type revokeTrigger struct {
	left    int // successful writes still to come
	tokenID string
}

// RevokeAfterWrites makes the server itself revoke token tokenID, audited
// as token.revoked by local-control, once n more writes under /api (POST,
// PATCH, DELETE answered with a 2xx) have succeeded: inside the n-th one,
// before its response is sent, so that the next request meets the revoked
// token whatever the timing. Tests revoke a token in the middle of a run
// with it; a later call replaces an earlier one.
func (s *Server) RevokeAfterWrites(n int, tokenID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 1 {
		return fmt.Errorf("cmdoplocal: RevokeAfterWrites needs n >= 1, not %d", n)
	}
	if s.st.tokens[tokenID] == nil {
		return errNotFound(cmdopapi.ReasonTokenNotFound, "Token %q was not found.", tokenID)
	}
	s.revokeAfter = &revokeTrigger{left: n, tokenID: tokenID}
	return nil
}

// countWriteLocked counts a successful write for RevokeAfterWrites, and
// revokes its token at the last one.
func (s *Server) countWriteLocked(method string, status int) {
	t := s.revokeAfter
	if t == nil || status < 200 || status > 299 {
		return
	}
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodDelete:
	default:
		return
	}
	if t.left--; t.left > 0 {
		return
	}
	s.revokeAfter = nil
	tok := s.st.tokens[t.tokenID]
	if tok == nil || tok.RevokedAt != nil {
		return
	}
	s.st.revoke(tok, s.st.now(s.baseNow))
	s.st.appendEvent(s.baseNow, cmdopapi.Event{
		Action: cmdopapi.ActionTokenRevoked, Actor: localControlActor, TokenID: tok.ID, FleetID: tok.FleetID,
		RequestID: newRequestID(), StatusCode: http.StatusNoContent,
	})
}
