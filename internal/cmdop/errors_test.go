package cmdop_test

import (
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
)

// The error text: the call when known, the message (else the status text),
// the code, the reason and request ID when present, the status.
func TestError_text(t *testing.T) {
	for _, c := range []struct {
		err  cmdop.Error
		want string
	}{
		{cmdop.Error{StatusCode: 404, Code: "not_found", Reason: "token_not_found", Message: "No such token.", RequestID: "req_1", Method: "GET", Route: "/api/x/{id}"},
			"GET /api/x/{id}: No such token. (code not_found, reason token_not_found, HTTP 404, request ID req_1)"},
		{cmdop.Error{StatusCode: 503, Code: "server"}, "Service Unavailable (code server, HTTP 503)"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}
