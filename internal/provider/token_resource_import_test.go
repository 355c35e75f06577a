package provider_test

import (
	"context"
	"fmt"
	"os/exec"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// An import plans nothing that it need not. Import cannot see the
// configuration, so after `import` blocks that match the configuration:
//   - with the configuration-only settings at their defaults, the plan says
//     "0 to change" and the next plan is empty;
//   - with rotate_before, revoke_grace_period and rotation_triggers set,
//     it updates in place and shows no computed attribute as known after
//     apply; the apply makes 0 API writes, and the next plan is empty.
func TestAccTokenImport_plansNothingItNeedNot(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, extra, summary string
	}{
		{"defaults", "", "1 to import, 0 to add, 0 to change, 0 to destroy"},
		{"configOnly", `
  rotate_before       = "7d"
  revoke_grace_period = "1h"
  rotation_triggers   = { period = "2026-12" }
`, "1 to import, 0 to add, 1 to change, 0 to destroy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api := newTestAPI(t)
			// Issued outside Terraform, expiring 30 days after its creation:
			// import infers expiry = "30d".
			at := api.srv.Now().AddDate(0, 0, 30)
			tok, err := api.admin.CreateToken(context.Background(), api.FleetID(),
				cmdopapi.CreateTokenRequest{Name: "imported", Scopes: []string{"machines:read"}, ExpiresAt: &at}, "")
			if err != nil {
				t.Fatal(err)
			}
			run := newCLIRun(t, api, map[string]string{"main.tf": fmt.Sprintf(`
import {
  to = cmdop_fleet_token.x
  id = "%s/%s"
}

resource "cmdop_fleet_token" "x" {
  name   = "imported"
  scopes = ["machines:read"]
  expiry = "30d"
%s}
`, api.FleetID(), tok.ID, c.extra)})
			before := api.writes()
			out := run.must("plan", "-no-color", "-input=false")
			expectContains(t, out, c.summary)
			expectNotContains(t, out, "(known after apply)")
			expectNotContains(t, out, "must be replaced")
			run.must("apply", "-auto-approve", "-no-color", "-input=false")
			if got := api.writes() - before; got != 0 {
				t.Errorf("the import and its apply made %d API writes, want 0", got)
			}
			out, err = run.run("plan", "-detailed-exitcode", "-no-color", "-input=false")
			if ee, ok := err.(*exec.ExitError); ok || err != nil {
				code := -1
				if ok {
					code = ee.ExitCode()
				}
				t.Fatalf("the plan after the import's apply exited %d, want 0 (no change):\n%s", code, out)
			}
			if got := api.token(api.FleetID(), tok.ID); got.Status != "active" {
				t.Errorf("the imported token is %s, want active", got.Status)
			}
		})
	}
}
