package cmdoplocal

import (
	"net/http"
	"strings"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

const scopePermissionsManage = "permissions:manage"

const authHint = "provide a valid CMDOP token in the Authorization header as \"Bearer cmdop_...\""

// bearerToken extracts the token of an "Authorization: Bearer <token>" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authenticate resolves the caller of c. A revoked or expired token is
// refused and the attempt is audited as auth.failed. s.mu must be held.
func (s *Server) authenticate(c *call) *apiError {
	secret, ok := bearerToken(c.r)
	if !ok {
		return errAuth("The request has no bearer token; %s.", authHint)
	}
	if !validSecret(secret) {
		return errAuth("The bearer token is malformed; %s.", authHint)
	}
	t := s.st.lookupSecret(secret)
	if t == nil {
		return errAuth("The bearer token is not recognised; %s.", authHint)
	}
	switch t.status(c.now) {
	case cmdopapi.StatusRevoked:
		s.st.appendEvent(s.baseNow, s.eventFor(c, cmdopapi.ActionAuthFailed, t, t, http.StatusUnauthorized))
		return errAuth("The bearer token %s... was revoked; %s.", t.KeyPrefix, authHint)
	case cmdopapi.StatusExpired:
		s.st.appendEvent(s.baseNow, s.eventFor(c, cmdopapi.ActionAuthFailed, t, t, http.StatusUnauthorized))
		return errAuth("The bearer token %s... expired at %s; %s.", t.KeyPrefix, t.ExpiresAt.Format(timeFormat), authHint)
	}
	c.caller = t
	return nil
}

// authorize checks the caller's scopes against the route's row of the
// authorization table (x-required-scopes in the contract). It is the scope
// half of the rule "a token acts with the intersection of its scopes and its
// owner's role"; authorizeFleet is the role half.
func authorize(caller *tokenRecord, rt *apiRoute) *apiError {
	missing := missingScopes(caller, rt.scopes)
	if len(missing) == 0 {
		return nil
	}
	return errPermission(map[string]any{"missing_scopes": missing, "required_scopes": rt.scopes, "operation": rt.operationID},
		"%s %s (%s) requires the scope %s, which this token lacks, whatever its owner's role; use a token that holds it.",
		rt.method, rt.pattern, rt.operationID, strings.Join(missing, ", "))
}

// authorizeFleet checks that the caller's owner may manage the tokens of
// fleet f: a fleet token acts only on its own fleet, a personal token only
// for a fleet owner or admin. The scope is checked by authorize.
func (s *Server) authorizeFleet(caller *tokenRecord, f *fleet) *apiError {
	if !caller.isPersonal() {
		if caller.FleetID != f.ID {
			return errPermission(map[string]any{"fleet_id": f.ID},
				"This fleet token belongs to another fleet; use a token of fleet %s, or a personal token of its owner or an admin.", f.ID)
		}
		return nil
	}
	switch f.Members[caller.UserID] {
	case RoleOwner, RoleAdmin:
		return nil
	case RoleMember:
		return errPermission(map[string]any{"fleet_id": f.ID, "role": RoleMember, "required_roles": []string{RoleOwner, RoleAdmin}},
			"Your account is only a member of fleet %s; ask its owner or an admin to manage its tokens or to make you an admin.", f.ID)
	default:
		return errPermission(map[string]any{"fleet_id": f.ID, "required_roles": []string{RoleOwner, RoleAdmin}},
			"Your account is not a member of fleet %s; use a token of an owner or admin of that fleet.", f.ID)
	}
}

// requirePersonal refuses fleet tokens on the personal-token endpoints.
func requirePersonal(caller *tokenRecord) *apiError {
	if caller.isPersonal() {
		return nil
	}
	return errPermission(map[string]any{"required_token_type": "personal"},
		"Personal tokens can only be managed with a personal token, not a fleet token; use a personal token.")
}

// missingScopes returns the scopes in want that the caller does not hold.
func missingScopes(caller *tokenRecord, want []string) []string {
	var missing []string
	for _, sc := range want {
		if !caller.hasScope(sc) {
			missing = append(missing, sc)
		}
	}
	return missing
}

// authenticateControl admits only the control token. An API token, even the
// seeded admin's, is refused with a 403 that says which token to use.
func (s *Server) authenticateControl(r *http.Request) *apiError {
	const use = "use the control token cmdop-local printed as CMDOP_LOCAL_CONTROL_TOKEN (or the one given with --control-token)"
	secret, ok := bearerToken(r)
	if !ok {
		return errAuth("The test controls under /_local/ need the control token as \"Authorization: Bearer ...\"; %s.", use)
	}
	if hashesEqual(hashSecret(secret), hashSecret(s.controlSecret)) {
		return nil
	}
	if validSecret(secret) {
		s.mu.Lock()
		known := s.st.lookupSecret(secret) != nil
		s.mu.Unlock()
		if known {
			return errPermission(map[string]any{"required_token": "control"},
				"API tokens are not accepted by the test controls under /_local/, not even the admin token; %s.", use)
		}
	}
	return errAuth("The bearer token is not the control token; %s.", use)
}
