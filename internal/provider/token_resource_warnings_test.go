package provider_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Every replacement that no configuration change explains comes with a
// warning naming the reason and the time; an imported token's plan warns
// that its secret cannot be recovered.
func TestAccFleetToken_replacementWarnings(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := newCLIRun(t, api, map[string]string{"main.tf": `
resource "cmdop_fleet_token" "revoked" {
  name   = "revoked"
  scopes = ["machines:read"]
}
resource "cmdop_fleet_token" "rotating" {
  name          = "rotating"
  scopes        = ["machines:read"]
  expiry        = "30d"
  rotate_before = "7d"
}
resource "cmdop_fleet_token" "expiring" {
  name   = "expiring"
  scopes = ["machines:read"]
  expiry = "30d"
}
`})
	run.must("apply", "-auto-approve", "-no-color")
	out := run.must("plan", "-no-color", "-detailed-exitcode")
	expectContains(t, out, "No changes.")

	id := run.must("state", "show", "-no-color", "cmdop_fleet_token.revoked")
	tokenID := idFromStateShow(t, id)
	if err := api.admin.RevokeToken(context.Background(), api.FleetID(), tokenID); err != nil {
		t.Fatal(err)
	}
	api.advance(24 * 24 * time.Hour)
	out, _ = run.run("plan", "-no-color")
	expectContains(t, out,
		`The fleet token "revoked" (`+tokenID+`) is revoked and will be replaced`,
		"was revoked outside Terraform at 20",
		`The fleet token "rotating"`, "is inside its rotate_before window and will be replaced",
		"due for rotation since",
		"Plan: 2 to add, 0 to change, 2 to destroy.",
	)

	api.advance(7 * 24 * time.Hour)
	out, _ = run.run("plan", "-no-color")
	expectContains(t, out, `The fleet token "expiring"`, "is expired and will be replaced", "was expired at")

	// Import: the secret cannot be recovered, and the plan says how to get one.
	imported := api.createToken(api.FleetID(), "imported", nil)
	run2 := newCLIRun(t, api, map[string]string{"main.tf": fmt.Sprintf(`
import {
  to = cmdop_fleet_token.imported
  id = "%s/%s"
}
resource "cmdop_fleet_token" "imported" {
  name   = "imported"
  scopes = ["machines:read"]
  expiry = "never"
}
`, api.FleetID(), imported.ID)})
	out = run2.must("apply", "-auto-approve", "-no-color")
	expectContains(t, out, "cannot be recovered", "terraform apply -replace=", "1 imported, 0 added, 0 changed, 0 destroyed")

	// Several imported tokens: one warning per plan, not one per token
	// (Terraform's cost grows with the square of the number of warnings).
	// Three resources rather than three instances of one counted
	// resource: Terraform 1.16.0 honours only the first import block per
	// resource (hashicorp/terraform#39068, fixed after 1.16.0).
	var blocks strings.Builder
	for i := range 3 {
		tok := api.createToken(api.FleetID(), fmt.Sprintf("many-%d", i), nil)
		fmt.Fprintf(&blocks, "import {\n  to = cmdop_fleet_token.many%d\n  id = \"%s/%s\"\n}\n", i, api.FleetID(), tok.ID)
		fmt.Fprintf(&blocks, "resource \"cmdop_fleet_token\" \"many%d\" {\n  name   = \"many-%d\"\n  scopes = [\"machines:read\"]\n  expiry = \"never\"\n}\n", i, i)
	}
	run3 := newCLIRun(t, api, map[string]string{"main.tf": blocks.String()})
	out = run3.must("apply", "-auto-approve", "-no-color")
	expectContains(t, out, "3 imported, 0 added, 0 changed, 0 destroyed", "This warning is shown once per plan")
	expectNotContains(t, out, "more similar warning") // Terraform's summary of repeated warnings
	if n := strings.Count(out, "cannot be recovered"); n != 1 {
		t.Fatalf("the plan warned %d times that a secret cannot be recovered, want once:\n%s", n, out)
	}
}

func idFromStateShow(t *testing.T, out string) string {
	t.Helper()
	var v string
	for _, line := range splitLines(out) {
		if _, err := fmt.Sscanf(line, "    id = %q", &v); err == nil {
			return v
		}
	}
	t.Fatalf("no id in:\n%s", out)
	return ""
}
