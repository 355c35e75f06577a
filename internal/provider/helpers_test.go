package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// attrs returns a resource's attributes from the Terraform state.
func attrs(s *terraform.State, addr string) (map[string]string, error) {
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return nil, fmt.Errorf("%s is not in the state", addr)
	}
	return rs.Primary.Attributes, nil
}

// capture stores a state attribute of addr into *dst.
func capture(addr, key string, dst *string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		a, err := attrs(s, addr)
		if err != nil {
			return err
		}
		*dst = a[key]
		if *dst == "" {
			return fmt.Errorf("%s.%s is empty", addr, key)
		}
		return nil
	}
}

// secretWorks proves a secret authenticates against the API, and
// secretRejected that it gets a 401.
func secretWorks(url, secret string) error {
	c, err := cmdop.New(cmdop.Config{BaseURL: url, Token: secret, MaxRetries: -1})
	if err != nil {
		return err
	}
	_, err = c.Account(context.Background()) // who-am-I: any valid token may call it
	return err
}

func secretRejected(url, secret string) error {
	err := secretWorks(url, secret)
	if apiErr, ok := cmdop.AsError(err); !ok || apiErr.Code != cmdopapi.CodeAuth {
		return fmt.Errorf("expected the secret to be rejected with 401, got %v", err)
	}
	return nil
}

// firstEvent finds the time of the first audit event of action on tokenID.
func firstEvent(api *testAPI, action, tokenID string) (time.Time, error) {
	events, _, err := api.admin.AuditEvents(context.Background(), cmdop.AuditQuery{TokenID: tokenID, Actions: []string{action}}, 100)
	if err != nil {
		return time.Time{}, err
	}
	if len(events) == 0 {
		return time.Time{}, fmt.Errorf("no %s event for token %s", action, tokenID)
	}
	return events[len(events)-1].Time, nil
}

// createToken issues a token through the API as the admin; nil scopes
// means machines:read.
func (a *testAPI) createToken(fleetID, name string, scopes []string) *cmdopapi.Token {
	a.t.Helper()
	if scopes == nil {
		scopes = []string{"machines:read"}
	}
	tok, err := a.admin.CreateToken(context.Background(), fleetID, cmdopapi.CreateTokenRequest{Name: name, Scopes: scopes}, "")
	if err != nil {
		a.t.Fatalf("creating token %s: %v", name, err)
	}
	return tok
}

func splitLines(s string) []string { return strings.Split(s, "\n") }

// advance moves the API server's clock forward.
func (a *testAPI) advance(d time.Duration) {
	a.t.Helper()
	if _, err := a.srv.AdvanceClock(d); err != nil {
		a.t.Fatalf("advancing the server clock: %v", err)
	}
}

// setFaults replaces the API's fault injection.
func (a *testAPI) setFaults(cfg cmdoplocal.FaultConfig) {
	a.t.Helper()
	if err := a.srv.SetFaults(cfg); err != nil {
		a.t.Fatalf("setting faults: %v", err)
	}
}

// phrases matches output holding each phrase in order, however the CLI
// wrapped its lines.
func phrases(want ...string) *regexp.Regexp {
	parts := make([]string, len(want))
	for i, w := range want {
		parts[i] = strings.Join(strings.Fields(regexp.QuoteMeta(w)), `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(parts, ".*"))
}
