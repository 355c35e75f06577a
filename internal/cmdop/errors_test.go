package cmdop_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
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

// Only the token's own absence is "gone".
func TestTokenGoneOnlyOnTokenNotFound(t *testing.T) {
	gone := apiErr(404, cmdopapi.CodeNotFound, cmdopapi.ReasonTokenNotFound)
	if !errors.Is(gone, cmdop.ErrTokenNotFound) {
		t.Fatal("token_not_found is not ErrTokenNotFound")
	}
	for _, err := range []error{
		apiErr(404, cmdopapi.CodeNotFound, cmdopapi.ReasonFleetNotFound),
		apiErr(404, cmdopapi.CodeNotFound, cmdopapi.ReasonRouteNotFound),
		apiErr(404, cmdopapi.CodeNotFound, cmdopapi.ReasonUserNotFound),
		apiErr(404, cmdopapi.CodeNotFound, ""),
		apiErr(404, cmdopapi.CodeServer, ""), // a bare 404 without the envelope
		apiErr(403, cmdopapi.CodePermission, ""),
		apiErr(401, cmdopapi.CodeAuth, ""),
		errors.New("connection refused"),
	} {
		if errors.Is(err, cmdop.ErrTokenNotFound) {
			t.Errorf("%v counts as a gone token", err)
		}
	}
}

func TestIsRefusal(t *testing.T) {
	for err, want := range map[error]bool{
		apiErr(404, cmdopapi.CodeNotFound, cmdopapi.ReasonFleetNotFound): true,
		apiErr(403, cmdopapi.CodePermission, ""):                         true,
		apiErr(401, cmdopapi.CodeAuth, ""):                               true,
		apiErr(503, cmdopapi.CodeServer, ""):                             false,
		apiErr(429, cmdopapi.CodeRateLimit, ""):                          false,
		errors.New("timeout"):                                            false,
	} {
		if got := cmdop.IsRefusal(err); got != want {
			t.Errorf("cmdop.IsRefusal(%v) = %v, want %v", err, got, want)
		}
	}
}

func apiErr(status int, code, reason string) error {
	return fmt.Errorf("wrapped: %w", &cmdop.Error{StatusCode: status, Code: code, Reason: reason, Message: "m", RequestID: "req_1"})
}
