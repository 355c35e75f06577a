package provider

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

func apiErr(status int, code, reason string) error {
	return fmt.Errorf("wrapped: %w", &cmdop.Error{StatusCode: status, Code: code, Reason: reason, Message: "m", RequestID: "req_1"})
}

// Each not-found reason says what to check, and only token_not_found says
// nothing about keeping the state.
func TestAPIErrorDiag_notFoundReasons(t *testing.T) {
	at := apiTarget{baseURL: "https://api.example.com", fleet: "prod"}
	cases := map[string][]string{
		cmdopapi.ReasonTokenNotFound: {"has no token with this ID", "fleet_id"},
		cmdopapi.ReasonFleetNotFound: {`does not have fleet "prod"`, "for a typo", "Nothing was removed from the state"},
		cmdopapi.ReasonRouteNotFound: {"https://api.example.com has no such route", "without /api or a version path", "Nothing was removed"},
		cmdopapi.ReasonUserNotFound:  {"does not know the user"},
		"":                           {"without saying what is missing", "Nothing was removed"},
	}
	for reason, wants := range cases {
		d := apiErrorDiag("reading", "fleet token", at, apiErr(404, cmdopapi.CodeNotFound, reason))
		if d.Summary() != "Error reading fleet token" {
			t.Errorf("summary %q", d.Summary())
		}
		for _, w := range wants {
			if !strings.Contains(d.Detail(), w) {
				t.Errorf("reason %q: the detail lacks %q:\n%s", reason, w, d.Detail())
			}
		}
		if !strings.Contains(d.Detail(), "Request ID: req_1") {
			t.Errorf("reason %q: no request ID", reason)
		}
	}
}

// A secret in an error from outside the provider is never repeated.
func TestAPIErrorDiag_redacts(t *testing.T) {
	secret := "cmdop_" + strings.Repeat("A1b2", 8)
	d := apiErrorDiag("creating", "fleet token", apiTarget{}, errors.New("dial tcp: lookup "+secret+": no such host"))
	if strings.Contains(d.Detail(), secret) || !strings.Contains(d.Detail(), "cmdop_***") {
		t.Fatalf("the detail shows the secret:\n%s", d.Detail())
	}
}
