package provider_test

import (
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// on_failure (Terraform 1.16): a failing cmdop_revoke_tokens (a token ID
// that matches nothing) halts the apply with on_failure = halt, so that the
// resource that depends on the triggering one is not created, and with
// on_failure = continue it is a warning and the apply goes on.
func TestAccRevokeTokensAction_onFailure(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipBelow116(t)
	keep := api.createToken(api.FleetID(), "keep", nil)
	for _, mode := range []string{"halt", "continue"} {
		run := newCLIRun(t, api, map[string]string{"main.tf": `
provider "cmdop" {}

resource "terraform_data" "deploy" {
  input = "deploy"
  lifecycle {
    action_trigger {
      events     = [after_create]
      actions    = [action.cmdop_revoke_tokens.missing]
      on_failure = ` + mode + `
    }
  }
}

resource "terraform_data" "after" {
  input      = "after"
  depends_on = [terraform_data.deploy]
}

action "cmdop_revoke_tokens" "missing" {
  config {
    token_ids = ["00000000-0000-4000-8000-000000000000"]
  }
}
`})
		api.srv.ResetStats()
		out, err := run.run("apply", "-auto-approve", "-input=false", "-no-color")
		state, _ := run.run("state", "list")
		switch mode {
		case "halt":
			if err == nil {
				t.Fatalf("on_failure = halt: the apply succeeded:\n%s", out)
			}
			expectContains(t, out, "Error: No token matched the cmdop_revoke_tokens selection")
			if strings.Contains(state, "terraform_data.after") {
				t.Fatalf("on_failure = halt: the dependent resource was created:\n%s", state)
			}
		case "continue":
			if err != nil {
				t.Fatalf("on_failure = continue: the apply failed: %v\n%s", err, out)
			}
			expectContains(t, out, "Warning: No token matched the cmdop_revoke_tokens selection")
			if !strings.Contains(state, "terraform_data.after") {
				t.Fatalf("on_failure = continue: the dependent resource was not created:\n%s", state)
			}
		}
		if n := api.deletes(); n != 0 {
			t.Fatalf("on_failure = %s: %d DELETEs, want 0", mode, n)
		}
	}
	api.expectAllActive(t, keep)
}

// before_destroy and after_destroy (Terraform 1.16): destroying the
// configuration that manages a fleet's consumers revokes their tokens, and
// creating it revokes nothing.
func TestAccRevokeTokensAction_destroyEvents(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipBelow116(t)
	before := api.createToken(api.FleetID(), "consumer-before", nil)
	after := api.createToken(api.FleetID(), "consumer-after", nil)
	keep := api.createToken(api.FleetID(), "other", nil)
	run := newCLIRun(t, api, map[string]string{"main.tf": `
provider "cmdop" {}

resource "terraform_data" "consumers" {
  input = "consumers"
  lifecycle {
    action_trigger {
      events  = [before_destroy]
      actions = [action.cmdop_revoke_tokens.before]
    }
  }
}

resource "terraform_data" "consumers_after" {
  input = "consumers"
  lifecycle {
    action_trigger {
      events  = [after_destroy]
      actions = [action.cmdop_revoke_tokens.after]
    }
  }
}

action "cmdop_revoke_tokens" "before" {
  config {
    kind        = "fleet"
    name_prefix = "consumer-before"
  }
}

action "cmdop_revoke_tokens" "after" {
  config {
    kind        = "fleet"
    name_prefix = "consumer-after"
  }
}
`})
	run.must("apply", "-auto-approve", "-input=false", "-no-color")
	api.expectAllActive(t, before, after, keep)
	out := run.must("destroy", "-auto-approve", "-input=false", "-no-color")
	t.Logf("terraform destroy:\n%s", out)
	expectContains(t, out, `Revoked fleet token "consumer-before"`, `Revoked fleet token "consumer-after"`)
	if err := api.expectStatus(map[*cmdopapi.Token]string{
		before: cmdopapi.StatusRevoked, after: cmdopapi.StatusRevoked, keep: cmdopapi.StatusActive,
	}); err != nil {
		t.Fatal(err)
	}
	admin := api.adminTokenID(t)
	for _, tok := range []*cmdopapi.Token{before, after} {
		if _, err := api.revokedBy(tok, admin); err != nil {
			t.Fatal(err)
		}
	}
}
