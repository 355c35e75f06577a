package cmdop

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Error is an error response from the CMDOP API. Match its code with
// errors.Is against the sentinels below, e.g. errors.Is(err, cmdop.ErrNotFound).
type Error struct {
	StatusCode int
	Code       string
	Reason     string // on a 404: what is missing (Reason*)
	Message    string
	Details    map[string]any
	RequestID  string
	// Method and Route name the call, with the route as a template
	// ("/api/fleets/{fleet_id}/api-keys"), never with a secret in it.
	Method string
	Route  string
	// fromEnvelope: the body was the API's error envelope (checked against
	// the contract), not a proxy's page.
	fromEnvelope bool
}

// Sentinels for every error code of the contract.
var (
	ErrAuth       = &Error{Code: cmdopapi.CodeAuth}
	ErrPermission = &Error{Code: cmdopapi.CodePermission}
	ErrNotFound   = &Error{Code: cmdopapi.CodeNotFound}
	ErrConflict   = &Error{Code: cmdopapi.CodeConflict}
	ErrValidation = &Error{Code: cmdopapi.CodeValidation}
	ErrRateLimit  = &Error{Code: cmdopapi.CodeRateLimit}
	ErrServer     = &Error{Code: cmdopapi.CodeServer}

	// ErrTokenNotFound is the one error that says a token is gone: the API
	// answered that no token has this ID in the addressed collection. A
	// missing fleet, a wrong URL or another user's fleet (a 403) are other
	// errors, and must never be read as "gone". Another user's personal
	// token is not in the caller's collection either, and is answered with
	// this error: the provider checks the owner before it asks.
	ErrTokenNotFound = &Error{Code: cmdopapi.CodeNotFound, Reason: cmdopapi.ReasonTokenNotFound}
)

func (e *Error) Error() string {
	var b strings.Builder
	if e.Method != "" {
		fmt.Fprintf(&b, "%s %s: ", e.Method, e.Route)
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	fmt.Fprintf(&b, "%s (code %s", msg, e.Code)
	if e.Reason != "" {
		fmt.Fprintf(&b, ", reason %s", e.Reason)
	}
	fmt.Fprintf(&b, ", HTTP %d", e.StatusCode)
	if e.RequestID != "" {
		fmt.Fprintf(&b, ", request ID %s", e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// Is reports whether target is a sentinel with the same code (and the same
// reason, when the sentinel has one).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.StatusCode == 0 && t.Code == e.Code && (t.Reason == "" || t.Reason == e.Reason)
}

// MissingScopes returns the scopes a 403 says the caller lacks, if any.
func (e *Error) MissingScopes() []string {
	raw, _ := e.Details["missing_scopes"].([]any)
	out := make([]string, 0, len(raw))
	for _, s := range raw {
		if str, ok := s.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

// IsRefusal tells whether err is the API's definite answer about the
// request (401, 403, 404, 422), rather than a failure to get one.
func IsRefusal(err error) bool {
	apiErr, ok := AsError(err)
	if !ok {
		return false
	}
	switch apiErr.Code {
	case cmdopapi.CodeAuth, cmdopapi.CodePermission, cmdopapi.CodeNotFound, cmdopapi.CodeValidation:
		return true
	}
	return false
}

// AsError returns the API error wrapped in err, if any.
func AsError(err error) (*Error, bool) {
	var apiErr *Error
	ok := errors.As(err, &apiErr)
	return apiErr, ok
}

// codeForStatus maps a status to its contract code, for responses whose body
// is not the error envelope (a proxy's 502, say).
func codeForStatus(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return cmdopapi.CodeAuth
	case http.StatusForbidden:
		return cmdopapi.CodePermission
	case http.StatusNotFound:
		return cmdopapi.CodeNotFound
	case http.StatusConflict:
		return cmdopapi.CodeConflict
	case http.StatusUnprocessableEntity, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return cmdopapi.CodeValidation
	case http.StatusTooManyRequests:
		return cmdopapi.CodeRateLimit
	default:
		return cmdopapi.CodeServer
	}
}
