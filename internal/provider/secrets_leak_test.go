package provider_test

import (
	"os"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// No token secret, and not the provider's own token, appears in anything
// Terraform prints or logs at TRACE level, across apply, plan, refresh,
// import, a failing apply and destroy. (The state file holds the secrets by
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
	step := func(args ...string) {
		out, _ := run.run(args...)
		printed.WriteString(out)
	}
	step("apply", "-auto-approve", "-no-color")
	step("import", "-no-color", "cmdop_fleet_token.imported", api.FleetID()+"/"+imported.ID)
	step("plan", "-no-color")
	step("apply", "-refresh-only", "-auto-approve", "-no-color")
	step("apply", "-auto-approve", "-no-color", "-replace=cmdop_fleet_token.a")
	// A failing call: a bad scope set on a new token reaches the API's 403.
	if err := os.WriteFile(run.dir+"/extra.tf", []byte(`
resource "cmdop_personal_token" "too_wide" {
  name   = "too-wide"
  scopes = ["machines:read"]
  expiry = "2000-01-01T00:00:00Z"
}`), 0o600); err != nil {
		t.Fatal(err)
	}
	step("apply", "-auto-approve", "-no-color")
	_ = os.Remove(run.dir + "/extra.tf")
	step("destroy", "-auto-approve", "-no-color")

	logs, err := os.ReadFile(run.log)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) < 100_000 || !strings.Contains(string(logs), "CMDOP API call") {
		t.Fatalf("the TRACE log (%d bytes) lacks the provider's API call lines: the test would prove nothing", len(logs))
	}
	secrets := []string{api.secret, imported.RawToken}
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
