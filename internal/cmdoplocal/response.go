package cmdoplocal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// apiError is an error that the server reports in the contract's error envelope.
// It also implements error so that the exported Go methods can return it.
type apiError struct {
	status     int
	code       string
	reason     string // on a 404: what is missing (cmdop.Reason*)
	message    string
	details    map[string]any
	retryAfter int    // seconds; set for rate_limit errors
	allow      string // Allow header; set for wrong-method errors
}

func (e *apiError) Error() string { return e.message }

func newAPIError(status int, code string, details map[string]any, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...), details: details}
}

func errAuth(format string, args ...any) *apiError {
	return newAPIError(http.StatusUnauthorized, cmdopapi.CodeAuth, nil, format, args...)
}

func errPermission(details map[string]any, format string, args ...any) *apiError {
	return newAPIError(http.StatusForbidden, cmdopapi.CodePermission, details, format, args...)
}

// errNotFound reports a 404 saying what is missing: reason is one of the
// cmdop.Reason* constants.
func errNotFound(reason string, format string, args ...any) *apiError {
	e := newAPIError(http.StatusNotFound, cmdopapi.CodeNotFound, nil, format, args...)
	e.reason = reason
	return e
}

func errConflict(details map[string]any, format string, args ...any) *apiError {
	return newAPIError(http.StatusConflict, cmdopapi.CodeConflict, details, format, args...)
}

// errValidation reports a 422 naming the offending field in details.
func errValidation(field string, format string, args ...any) *apiError {
	var details map[string]any
	if field != "" {
		details = map[string]any{"field": field}
	}
	return newAPIError(http.StatusUnprocessableEntity, cmdopapi.CodeValidation, details, format, args...)
}

func errRateLimit(retryAfter int) *apiError {
	e := newAPIError(http.StatusTooManyRequests, cmdopapi.CodeRateLimit,
		map[string]any{"retry_after_seconds": retryAfter},
		"Too many requests; wait %d second(s) as the Retry-After header says, then retry.", retryAfter)
	e.retryAfter = retryAfter
	return e
}

func errUnavailable() *apiError {
	return newAPIError(http.StatusServiceUnavailable, cmdopapi.CodeServer, nil,
		"The service is temporarily unavailable; retry the request in a moment.")
}

func errInternal(format string, args ...any) *apiError {
	return newAPIError(http.StatusInternalServerError, cmdopapi.CodeServer, nil, format, args...)
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		writeError(w, errInternal("The server could not encode its response; retry the request or report this bug."))
		return
	}
	writeRawJSON(w, status, data)
}

// writeRawJSON writes already encoded JSON.
func writeRawJSON(w http.ResponseWriter, status int, data []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
	_, _ = w.Write([]byte("\n"))
}

// writeError writes e in the contract's error envelope.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.allow != "" {
		w.Header().Set("Allow", e.allow)
	}
	body := cmdopapi.ErrorBody{Error: cmdopapi.ErrorDetail{Code: e.code, Reason: e.reason, Message: e.message, Details: e.details}}
	data, err := json.Marshal(body)
	if err != nil {
		// Details only ever hold strings, numbers and string slices, so this cannot
		// happen; fall back to an envelope without them all the same.
		body.Error.Details = nil
		data, _ = json.Marshal(body)
	}
	writeRawJSON(w, e.status, data)
}

func joinOr(ss []string) string    { return strings.Join(ss, " or ") }
func joinComma(ss []string) string { return strings.Join(ss, ", ") }

func methodNotAllowed(method string, allow ...string) *apiError {
	e := newAPIError(http.StatusMethodNotAllowed, cmdopapi.CodeNotFound, map[string]any{"allowed_methods": allow},
		"Method %s is not supported on this path; use %s.", method, joinOr(allow))
	e.allow = joinComma(allow)
	return e
}

// asAPIError converts an error from the exported methods back to its envelope.
func asAPIError(err error) *apiError {
	var e *apiError
	if errors.As(err, &e) {
		return e
	}
	return errInternal("%v", err)
}

// bufferedResponse collects a whole response so that nothing reaches the
// client before the server has committed and decided whether to drop it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse {
	return &bufferedResponse{header: http.Header{}}
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) statusCode() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

// reset discards everything written so far except the request id.
func (b *bufferedResponse) reset() {
	id := b.header.Get("X-Request-Id")
	b.header = http.Header{}
	b.header.Set("X-Request-Id", id)
	b.status = 0
	b.body.Reset()
}

// sendTo writes the buffered response to w.
func (b *bufferedResponse) sendTo(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	w.WriteHeader(b.statusCode())
	_, _ = w.Write(b.body.Bytes())
}

// dropConnection closes the client connection without writing a response.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): aborting the handler resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
