package cmdoplocal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

const (
	timeFormat       = time.RFC3339Nano
	maxNameLen       = 100
	defaultPerPage   = 50
	maxPerPage       = 200
	minExpiresAhead  = time.Hour
	maxExpiresInDays = 100000 // about 273 years: keeps expires_at a valid date-time
)

// collection is the set of tokens a request addresses: one fleet's tokens or
// one user's personal tokens.
type collection struct {
	fleetID string // set for fleet tokens
	userID  string // set for personal tokens
	kind    string // "fleet token" or "personal token", for messages
}

func (col *collection) tokens(st *store) []*tokenRecord {
	if col.fleetID != "" {
		return st.fleetTokens[col.fleetID]
	}
	return st.userTokens[col.userID]
}

func (col *collection) contains(t *tokenRecord) bool {
	if col.fleetID != "" {
		return t.FleetID == col.fleetID
	}
	return t.isPersonal() && t.UserID == col.userID
}

// fleetCollection resolves /api/fleets/{fleet_id}/api-keys for the caller.
func (s *Server) fleetCollection(c *call) (*collection, *apiError) {
	id := c.params["fleet_id"]
	f := s.st.fleets[id]
	if f == nil {
		return nil, errNotFound(cmdopapi.ReasonFleetNotFound, "Fleet %q was not found; check the fleet id.", id)
	}
	if err := s.authorizeFleet(c.caller, f); err != nil {
		return nil, err
	}
	return &collection{fleetID: f.ID, kind: "fleet token"}, nil
}

// personalCollection resolves /api/account/api-tokens for the caller.
func (s *Server) personalCollection(c *call) (*collection, *apiError) {
	if err := requirePersonal(c.caller); err != nil {
		return nil, err
	}
	return &collection{userID: c.caller.UserID, kind: "personal token"}, nil
}

// findToken resolves the {key_id} or {token_id} path parameter in col.
func (s *Server) findToken(c *call, col *collection) (*tokenRecord, *apiError) {
	raw := c.params["key_id"]
	if raw == "" {
		raw = c.params["token_id"]
	}
	id, err := uuid.Parse(raw)
	if err != nil {
		return nil, errNotFound(cmdopapi.ReasonTokenNotFound, "No %s has id %q: token ids are UUIDs; check the id.", col.kind, raw)
	}
	t := s.st.tokens[id.String()]
	if t == nil || !col.contains(t) {
		return nil, errNotFound(cmdopapi.ReasonTokenNotFound, "No %s with id %s was found here; check the id and the path.", col.kind, id)
	}
	return t, nil
}

func (s *Server) listTokens(w http.ResponseWriter, c *call, col *collection) {
	q, err := parseQuery(c)
	if err != nil {
		writeError(w, err)
		return
	}
	offset, perPage, err := pageParams(q)
	if err != nil {
		writeError(w, err)
		return
	}
	all := col.tokens(s.st)
	items := make([]cmdopapi.Token, 0, min(perPage, max(0, len(all)-offset)))
	for i := offset; i < len(all) && len(items) < perPage; i++ {
		items = append(items, all[i].wire(c.now))
	}
	writeJSON(w, http.StatusOK, cmdopapi.TokenPage{Items: items, Offset: offset, PerPage: perPage, Total: len(all)})
}

// parseQuery parses the query string, refusing a malformed one rather than
// silently dropping parameters.
func parseQuery(c *call) (url.Values, *apiError) {
	q, err := url.ParseQuery(c.r.URL.RawQuery)
	if err != nil {
		return nil, errValidation("", "The query string is malformed (%v); percent-encode its parameters.", err)
	}
	return q, nil
}

// pageParams parses offset (default 0) and per_page (default 50, at most 200).
func pageParams(q url.Values) (offset, perPage int, err *apiError) {
	offset, perPage = 0, defaultPerPage
	if q.Has("offset") {
		n, convErr := strconv.Atoi(q.Get("offset"))
		if convErr != nil || n < 0 {
			return 0, 0, errValidation("offset", "offset must be an integer of 0 or more.")
		}
		offset = n
	}
	if q.Has("per_page") {
		n, convErr := strconv.Atoi(q.Get("per_page"))
		if convErr != nil || n < 1 || n > maxPerPage {
			return 0, 0, errValidation("per_page", "per_page must be an integer from 1 to %d.", maxPerPage)
		}
		perPage = n
	}
	return offset, perPage, nil
}

func (s *Server) getToken(w http.ResponseWriter, c *call, col *collection) {
	t, err := s.findToken(c, col)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, t.wire(c.now))
}

func (s *Server) createToken(w http.ResponseWriter, c *call, col *collection) {
	if c.bodyErr != nil {
		writeError(w, c.bodyErr)
		return
	}
	key := c.r.Header.Get("Idempotency-Key")
	if len(c.r.Header.Values("Idempotency-Key")) > 0 && !validIdempotencyKey(key) {
		writeError(w, errValidation("Idempotency-Key", "The Idempotency-Key header must be 1 to 255 characters; send a unique key such as a UUID."))
		return
	}
	var hash string
	if key != "" {
		hash = requestHash(c.r.Method, c.r.URL.EscapedPath(), c.body)
		replay, err := s.st.checkIdempotency(c.now, c.caller.ID, key, hash)
		if err != nil {
			writeError(w, err)
			return
		}
		if replay != nil {
			writeRawJSON(w, http.StatusCreated, replay)
			return
		}
	}

	var req cmdopapi.CreateTokenRequest
	if err := decodeJSON(c.body, &req); err != nil {
		writeError(w, err)
		return
	}
	expiresAt, err := validateCreate(&req, c.now)
	if err != nil {
		writeError(w, err)
		return
	}
	if missing := missingScopes(c.caller, req.Scopes); len(missing) > 0 {
		writeError(w, errPermission(map[string]any{"missing_scopes": missing},
			"A new token cannot hold scopes its creator lacks, and this token lacks %s; request fewer scopes or use a token that holds them.",
			strings.Join(missing, ", ")))
		return
	}
	if err := checkOutlives(c.caller, &req, expiresAt); err != nil {
		writeError(w, err)
		return
	}

	createdBy := c.caller.ID
	if c.caller.isPersonal() {
		createdBy = c.caller.UserID
	}
	secret := newSecret()
	t := s.st.newToken(c.now, secret, col.fleetID, col.userID, req.Name, slices.Clone(req.Scopes), expiresAt, createdBy)
	s.st.appendEvent(s.baseNow, s.eventFor(c, cmdopapi.ActionTokenIssued, c.caller, t, http.StatusCreated))

	out := t.wire(c.now)
	out.RawToken = secret
	data, mErr := json.Marshal(out)
	if mErr != nil {
		writeError(w, errInternal("The server could not encode the new token; revoke token %s and retry.", t.ID))
		return
	}
	if key != "" {
		s.st.rememberIdem(c.now, c.caller.ID, key, hash, t.ID, data)
	}
	writeRawJSON(w, http.StatusCreated, data)
}

// checkOutlives refuses a new token that would outlive its issuer: its
// expiry (nil: never) must be at or before the issuer's.
func checkOutlives(issuer *tokenRecord, req *cmdopapi.CreateTokenRequest, expiresAt *time.Time) *apiError {
	if issuer.ExpiresAt == nil || (expiresAt != nil && !expiresAt.After(*issuer.ExpiresAt)) {
		return nil
	}
	limit := issuer.ExpiresAt.Format(timeFormat)
	field, asked := "expires_at", "never to expire"
	switch {
	case req.ExpiresInDays != nil:
		field, asked = "expires_in_days", "to expire at "+expiresAt.Format(timeFormat)
	case expiresAt != nil:
		asked = "to expire at " + expiresAt.Format(timeFormat)
	}
	e := errValidation(field, "A token cannot outlive the token that issues it: the new token's expiry must be at or before the issuer's expiry, %s, but it asks %s; set expires_at to %s or earlier, or issue it with a longer-lived token.",
		limit, asked, limit)
	e.details["issuer_expires_at"] = limit
	return e
}

// validateCreate checks a create request and returns the expiry it asks for.
func validateCreate(req *cmdopapi.CreateTokenRequest, now time.Time) (*time.Time, *apiError) {
	if n := utf8.RuneCountInString(req.Name); n < 1 || n > maxNameLen {
		return nil, errValidation("name", "name must be 1 to %d characters long.", maxNameLen)
	}
	if strings.TrimSpace(req.Name) == "" {
		return nil, errValidation("name", "name must not be blank; give the token a descriptive name.")
	}
	if err := validateScopes(req.Scopes); err != nil {
		return nil, err
	}
	switch {
	case req.ExpiresInDays != nil && req.ExpiresAt != nil:
		e := errValidation("expires_at", "Set at most one of expires_in_days and expires_at, not both.")
		e.details["conflicting_fields"] = []string{"expires_in_days", "expires_at"}
		return nil, e
	case req.ExpiresInDays != nil:
		days := *req.ExpiresInDays
		if days < 1 || days > maxExpiresInDays {
			return nil, errValidation("expires_in_days", "expires_in_days must be an integer from 1 to %d.", maxExpiresInDays)
		}
		t := now.Add(time.Duration(days) * 24 * time.Hour)
		return &t, nil
	case req.ExpiresAt != nil:
		t := req.ExpiresAt.UTC()
		earliest := now.Add(minExpiresAhead)
		if t.Before(earliest) {
			return nil, errValidation("expires_at", "expires_at must be at least one hour in the future, at or after %s.", earliest.Format(timeFormat))
		}
		if t.Year() > 9999 {
			return nil, errValidation("expires_at", "expires_at must be before the year 10000.")
		}
		return &t, nil
	}
	return nil, nil
}

// validateScopes requires at least one scope, all known, none repeated.
func validateScopes(scopes []string) *apiError {
	valid := strings.Join(cmdopapi.Scopes, ", ")
	if len(scopes) == 0 {
		e := errValidation("scopes", "scopes must list at least one scope; valid scopes are %s.", valid)
		e.details["valid_scopes"] = cmdopapi.Scopes
		return e
	}
	var unknown, dups []string
	seen := map[string]bool{}
	for _, sc := range scopes {
		switch {
		case !slices.Contains(cmdopapi.Scopes, sc):
			unknown = append(unknown, sc)
		case seen[sc]:
			dups = append(dups, sc)
		}
		seen[sc] = true
	}
	if len(unknown) > 0 {
		e := errValidation("scopes", "Unknown scope(s) %s; valid scopes are %s.", quoteAll(unknown), valid)
		e.details["unknown_scopes"] = unknown
		e.details["valid_scopes"] = cmdopapi.Scopes
		return e
	}
	if len(dups) > 0 {
		e := errValidation("scopes", "Scope(s) %s are listed more than once; list each scope once.", quoteAll(dups))
		e.details["duplicate_scopes"] = dups
		return e
	}
	return nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func (s *Server) patchToken(w http.ResponseWriter, c *call, col *collection) {
	t, err := s.findToken(c, col)
	if err != nil {
		writeError(w, err)
		return
	}
	if c.bodyErr != nil {
		writeError(w, c.bodyErr)
		return
	}
	var req cmdopapi.ShortenExpiryRequest
	if err := decodeJSON(c.body, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.ExpiresAt.IsZero() {
		writeError(w, errValidation("expires_at", "expires_at is required: send the new, earlier expiry as an RFC 3339 date-time."))
		return
	}
	if t.RevokedAt != nil {
		writeError(w, errConflict(map[string]any{"token_id": t.ID, "status": cmdopapi.StatusRevoked},
			"Token %s is revoked, so its expiry cannot change; create a new token instead.", t.ID))
		return
	}
	want := req.ExpiresAt.UTC()
	// Asking for the current expiry is an idempotent no-op, even once it has passed.
	if t.ExpiresAt != nil && want.Equal(*t.ExpiresAt) {
		writeJSON(w, http.StatusOK, t.wire(c.now))
		return
	}
	if !want.After(c.now) {
		writeError(w, errValidation("expires_at", "expires_at must be in the future (after %s); to end the token now, revoke it.", c.now.Format(timeFormat)))
		return
	}
	if t.ExpiresAt != nil && want.After(*t.ExpiresAt) {
		e := errValidation("expires_at", "A token's expiry can only be moved earlier, and %s is after its current expiry %s; choose an earlier time or create a new token.",
			want.Format(timeFormat), t.ExpiresAt.Format(timeFormat))
		e.details["current_expires_at"] = t.ExpiresAt.Format(timeFormat)
		writeError(w, e)
		return
	}
	if want.Year() > 9999 {
		writeError(w, errValidation("expires_at", "expires_at must be before the year 10000."))
		return
	}
	t.ExpiresAt = &want
	s.st.touchToken(t)
	s.st.appendEvent(s.baseNow, s.eventFor(c, cmdopapi.ActionTokenExpiryShortened, c.caller, t, http.StatusOK))
	writeJSON(w, http.StatusOK, t.wire(c.now))
}

func (s *Server) revokeToken(w http.ResponseWriter, c *call, col *collection) {
	t, err := s.findToken(c, col)
	if err != nil {
		writeError(w, err)
		return
	}
	if t.RevokedAt == nil {
		s.st.revoke(t, c.now)
		s.st.appendEvent(s.baseNow, s.eventFor(c, cmdopapi.ActionTokenRevoked, c.caller, t, http.StatusNoContent))
	}
	w.WriteHeader(http.StatusNoContent)
}
