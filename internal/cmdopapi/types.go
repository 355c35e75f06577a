// Package cmdopapi is the CMDOP token and audit API's wire contract
// (openapi.yaml), with no dependencies: the request and response types, the
// error codes and not-found reasons, the token statuses, audit actions and
// scopes, and the redaction of anything shaped like a secret. The client
// (internal/cmdop) and cmdop-local (internal/cmdoplocal) both speak it.
package cmdopapi

import (
	"regexp"
	"time"
)

// Scopes lists every scope a CMDOP token can hold, in the order the API documents them.
var Scopes = []string{
	"machines:read",
	"machines:write",
	"commands:execute",
	"files:read",
	"files:write",
	"schedules:manage",
	"agent:invoke",
	"permissions:manage",
}

// Token statuses, computed by the server from its own clock.
const (
	StatusActive  = "active"
	StatusExpired = "expired"
	StatusRevoked = "revoked"
)

// Audit actions.
const (
	ActionTokenIssued          = "token.issued"
	ActionTokenUsed            = "token.used"
	ActionTokenRevoked         = "token.revoked"
	ActionTokenExpiryShortened = "token.expiry_shortened"
	ActionAuthFailed           = "auth.failed"
)

// AuditActions lists every audit action.
var AuditActions = []string{
	ActionTokenIssued,
	ActionTokenUsed,
	ActionTokenRevoked,
	ActionTokenExpiryShortened,
	ActionAuthFailed,
}

// Actor types.
const (
	ActorAPIToken = "api_token"
	ActorSystem   = "system"
)

// Token is a fleet token (api-key) or a personal token (api-token).
// Exactly one of FleetID and UserID is set.
type Token struct {
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
	Status      string     `json:"status"`
	// RawToken is the secret. The API returns it only in the 201 response of a create.
	RawToken string `json:"raw_token,omitempty"`
}

// CreateTokenRequest is the body of a token create. At most one of
// ExpiresInDays and ExpiresAt may be set; neither means the token never expires.
type CreateTokenRequest struct {
	Name          string     `json:"name"`
	Scopes        []string   `json:"scopes"`
	ExpiresInDays *int       `json:"expires_in_days,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
}

// ShortenExpiryRequest is the body of a token PATCH.
type ShortenExpiryRequest struct {
	ExpiresAt time.Time `json:"expires_at"`
}

// TokenPage is one offset page of a token listing.
type TokenPage struct {
	Items   []Token `json:"items"`
	Offset  int     `json:"offset"`
	PerPage int     `json:"per_page"`
	Total   int     `json:"total"`
}

// Actor is who performed an audited action.
type Actor struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Event is one audit log entry.
type Event struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Action     string    `json:"action"`
	Actor      Actor     `json:"actor"`
	TokenID    string    `json:"token_id,omitempty"`
	FleetID    string    `json:"fleet_id,omitempty"`
	RequestID  string    `json:"request_id"`
	SourceIP   string    `json:"source_ip"`
	UserAgent  string    `json:"user_agent"`
	StatusCode int       `json:"status_code"`
}

// EventPage is one cursor page of the audit log, newest first.
type EventPage struct {
	Items      []Event `json:"items"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// ErrorBody is the envelope of every API error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the content of an API error.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Reason says what was not found, on every 404: one of the Reason* constants.
	Reason  string         `json:"reason,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}

// Not-found reasons: every 404 says which thing is missing, so that a
// client can tell "this token does not exist" from a wrong fleet, a wrong
// user or a wrong URL.
const (
	ReasonTokenNotFound = "token_not_found" // no such token in the addressed collection
	ReasonFleetNotFound = "fleet_not_found"
	ReasonUserNotFound  = "user_not_found"
	ReasonRouteNotFound = "route_not_found" // no operation at this path: a wrong base URL or path
)

// Token types of an Account.
const (
	TokenTypePersonal = "personal"
	TokenTypeFleet    = "fleet"
)

// Account is who the caller is: GET /api/account, the who-am-I call. A
// personal token names its user; a fleet token names its fleet.
type Account struct {
	TokenID   string     `json:"token_id"`
	TokenType string     `json:"token_type"`
	UserID    string     `json:"user_id,omitempty"`
	FleetID   string     `json:"fleet_id,omitempty"`
	KeyPrefix string     `json:"key_prefix"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// FleetIDPattern is what a fleet ID may look like: printable ASCII without
// spaces or slashes, 1 to 128 characters. cmdop-local refuses any other, so
// every fleet ID can be routed.
var FleetIDPattern = regexp.MustCompile(`^[!-.0-~]{1,128}$`)

// Error codes and the HTTP statuses that carry them.
const (
	CodeAuth       = "auth"       // 401
	CodePermission = "permission" // 403
	CodeNotFound   = "not_found"  // 404
	CodeConflict   = "conflict"   // 409
	CodeValidation = "validation" // 422, and 413 for a body over 1 MiB
	CodeRateLimit  = "rate_limit" // 429, with Retry-After
	CodeServer     = "server"     // 5xx
)
