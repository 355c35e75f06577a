package provider_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// A plan that fails after an ephemeral token was opened: Terraform sends no
// CloseEphemeralResource (1.11.4 to 1.16.0), so the provider revokes the
// token itself when Terraform stops the plugin. Once the CLI has exited,
// the API shows every token of the run revoked, both kinds, and the audit
// log has each one's revocation.
func TestAccEphemeralTokens_failedPlanRevokes(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	if !cliAtLeast(t, 10) {
		t.Skip("ephemeral resources need Terraform 1.10+ or OpenTofu 1.11+")
	}
	run := newCLIRun(t, api, map[string]string{
		"main.tf": `
provider "cmdop" {}

# Both tokens lack permissions:manage, so the reads through them fail
# after they were opened.
ephemeral "cmdop_personal_token" "reader" {
  name   = "failed-plan-personal"
  scopes = ["machines:read"]
}

ephemeral "cmdop_fleet_token" "reader" {
  name   = "failed-plan-fleet"
  scopes = ["machines:read"]
}

provider "cmdop" {
  alias = "personal"
  token = ephemeral.cmdop_personal_token.reader.secret
}

provider "cmdop" {
  alias = "fleet"
  token = ephemeral.cmdop_fleet_token.reader.secret
}

data "cmdop_personal_tokens" "all" {
  provider = cmdop.personal
}

data "cmdop_fleet_tokens" "all" {
  provider = cmdop.fleet
}
`,
	})
	out, err := run.run("plan", "-no-color", "-input=false")
	if err == nil {
		t.Fatalf("the plan succeeded, want it to fail on the missing scope:\n%s", out)
	}
	expectContains(t, out, "permissions:manage")
	for _, c := range []struct{ fleetID, name string }{{"", "failed-plan-personal"}, {api.FleetID(), "failed-plan-fleet"}} {
		toks := api.tokensNamed(c.fleetID, c.name)
		if len(toks) == 0 {
			t.Fatalf("no token named %q was issued: the plan failed before the open, so the test proves nothing:\n%s", c.name, out)
		}
		for _, tok := range toks {
			if tok.Status != cmdopapi.StatusRevoked {
				t.Errorf("ephemeral token %s (%q) is %s after the failed plan exited, want revoked", tok.ID, c.name, tok.Status)
			}
			if _, err := firstEvent(api, cmdopapi.ActionTokenRevoked, tok.ID); err != nil {
				t.Error(err)
			}
		}
	}
}

// Ctrl-C during an apply that holds an ephemeral token open (a provisioner
// that uses its secret is still running): once the CLI has exited, the
// token is revoked.
func TestAccEphemeralTokens_interruptRevokes(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	if !cliAtLeast(t, 10) {
		t.Skip("ephemeral resources need Terraform 1.10+ or OpenTofu 1.11+")
	}
	run := newCLIRun(t, api, map[string]string{
		"main.tf": `
provider "cmdop" {}

ephemeral "cmdop_fleet_token" "job" {
  name   = "interrupted-job"
  scopes = ["machines:read"]
}

resource "terraform_data" "job" {
  provisioner "local-exec" {
    command     = "touch started && sleep 120"
    environment = { CMDOP_TOKEN = ephemeral.cmdop_fleet_token.job.secret }
  }
}
`,
	})
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), "apply", "-auto-approve", "-no-color", "-input=false")
	cmd.Dir = run.dir
	cmd.Env = append(os.Environ(), run.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	started := filepath.Join(run.dir, "started")
	for !fileExists(started) {
		select {
		case err := <-done:
			t.Fatalf("the apply ended before its provisioner started: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	open := 0
	for _, tok := range api.tokensNamed(api.FleetID(), "interrupted-job") {
		if tok.Status == cmdopapi.StatusActive {
			open++
		}
	}
	if open == 0 {
		t.Fatalf("no ephemeral token is open while the provisioner runs: the test proves nothing\n%s", out.String())
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatalf("the interrupted apply succeeded:\n%s", out.String())
	}
	for _, tok := range api.tokensNamed(api.FleetID(), "interrupted-job") {
		if tok.Status != cmdopapi.StatusRevoked {
			t.Errorf("ephemeral token %s is %s after the interrupted apply exited, want revoked\n%s", tok.ID, tok.Status, out.String())
		}
	}
}
