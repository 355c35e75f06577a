package provider_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// No token secret, and not the provider's own token, appears in anything
// Terraform prints or logs at TRACE level, across apply, plan, refresh,
// import, a failing apply whose error comes from the API (a 403 and its
// body) and destroy; each step but the failing one must succeed. (The state file holds the secrets by
// design, as sensitive values; it is not checked here.)
func TestAccSecrets_neverLeak(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	imported := api.createToken(api.FleetID(), "imported", nil)
	run := newCLIRun(t, api, map[string]string{"main.tf": `
resource "cmdop_fleet_token" "a" {
  name   = "a"
  scopes = ["machines:read"]
}
resource "cmdop_personal_token" "b" {
  name                = "b"
  scopes              = ["files:read"]
  revoke_grace_period = "1h"
}
resource "cmdop_fleet_token" "imported" {
  name   = "imported"
  scopes = ["machines:read"]
  expiry = "never"
}
output "a_secret" {
  value     = cmdop_fleet_token.a.secret
  sensitive = true
}
`})
	run.withTraceLog()
	var printed strings.Builder
	// Every step but the failing one must succeed: a step that failed early
	// would print less, and prove less.
	step := func(args ...string) {
		t.Helper()
		printed.WriteString(run.must(args...))
	}
	step("import", "-no-color", "cmdop_fleet_token.imported", api.FleetID()+"/"+imported.ID)
	step("apply", "-auto-approve", "-no-color")
	step("plan", "-no-color", "-detailed-exitcode") // exit 2, a change, fails the step
	step("apply", "-refresh-only", "-auto-approve", "-no-color")
	step("apply", "-auto-approve", "-no-color", "-replace=cmdop_fleet_token.a")
	// A failing call that reaches the API: a provider token of the fleet
	// that may manage tokens but lacks machines:write asks for a token with
	// it. Only the API knows that (no plan-time check sees the provider
	// token's scopes), and it answers 403 with an error body.
	narrow := api.createToken(api.FleetID(), "narrow", []string{"machines:read", "permissions:manage"})
	if err := os.WriteFile(run.dir+"/extra.tf", []byte(fmt.Sprintf(`
provider "cmdop" {
  alias        = "narrow"
  api_base_url = %q
  token        = %q
  fleet_id     = %q
}
resource "cmdop_fleet_token" "too_wide" {
  provider = cmdop.narrow
  name     = "too-wide"
  scopes   = ["machines:read", "machines:write"]
}`, api.URL, narrow.RawToken, api.FleetID())), 0o600); err != nil {
		t.Fatal(err)
	}
	writes := api.writes()
	out, err := run.run("apply", "-auto-approve", "-no-color")
	printed.WriteString(out)
	if err == nil {
		t.Fatalf("the apply of a token wider than its provider token succeeded:\n%s", out)
	}
	// The provider's diagnostic, built from the API's 403 and its details.
	expectContains(t, out, "Error creating fleet token", "lacks the scope(s) machines:write")
	if got := api.writes() - writes; got != 1 {
		t.Errorf("the failing apply made %d API writes, want exactly the refused create", got)
	}
	for id, tok := range api.activeTokens(api.FleetID()) {
		if tok.Name == "too-wide" {
			t.Errorf("the refused token %s exists", id)
		}
	}
	if err := os.Remove(run.dir + "/extra.tf"); err != nil {
		t.Fatal(err)
	}
	step("destroy", "-auto-approve", "-no-color")
	if left := api.activeTokens(api.FleetID()); len(left) != 1 { // the narrow provider token
		t.Errorf("destroy left %d active fleet tokens, want only the test's narrow one", len(left))
	}

	logs, err := os.ReadFile(run.log)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) < 100_000 || !strings.Contains(string(logs), "CMDOP API call") {
		t.Fatalf("the TRACE log (%d bytes) lacks the provider's API call lines: the test would prove nothing", len(logs))
	}
	secrets := []string{api.secret, imported.RawToken, narrow.RawToken}
	for name, text := range map[string]string{"terraform output": printed.String(), "TF_LOG file": string(logs)} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s contains a known secret", name)
			}
		}
		if m := cmdopapi.SecretPattern.FindString(text); m != "" {
			t.Errorf("%s contains something shaped like a secret: %s…", name, m[:12])
		}
	}
	t.Logf("checked %d bytes of CLI output and %d bytes of TRACE log", printed.Len(), len(logs))
}
