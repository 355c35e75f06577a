package provider_test

import (
	"errors"
	"os/exec"

	"fmt"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// deletes counts the DELETE calls the API has received.
func (a *testAPI) deletes() int { return a.srv.Stats().ByMethod["DELETE"] }

// expectAllActive fails unless every token is still active.
func (a *testAPI) expectAllActive(t *testing.T, toks ...*cmdopapi.Token) {
	t.Helper()
	want := map[*cmdopapi.Token]string{}
	for _, tok := range toks {
		want[tok] = cmdopapi.StatusActive
	}
	if err := a.expectStatus(want); err != nil {
		t.Fatal(err)
	}
}

// The first scenario: every selection rule, fed from TF_VAR_*
// through `terraform apply -invoke`. Terraform validates the action only
// with unknown variables, so these reach PlanAction and Invoke with their
// final values: each is refused there, and the API sees no DELETE.
func TestAccRevokeTokensAction_rulesFromVariables(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	toks := []*cmdopapi.Token{
		api.createToken(api.FleetID(), "ci-1", nil),
		api.createToken(api.FleetID(), "prod-db", nil),
		api.createToken(api.FleetID(), "prod-web", nil),
	}
	run := newCLIRun(t, api, map[string]string{
		"main.tf": `
provider "cmdop" {}

variable "prefix" {
  type    = string
  default = null
}
variable "all" {
  type    = bool
  default = null
}
variable "ids" {
  type    = set(string)
  default = null
}
variable "prefixes" {
  type    = set(string)
  default = null
}
variable "kind" {
  type    = string
  default = null
}
variable "fleet" {
  type    = string
  default = null
}
variable "max" {
  type    = number
  default = null
}

action "cmdop_revoke_tokens" "by_prefix" {
  config {
    kind        = "fleet"
    name_prefix = var.prefix
  }
}

action "cmdop_revoke_tokens" "by_all" {
  config {
    kind = "fleet"
    all  = var.all
  }
}

action "cmdop_revoke_tokens" "by_ids" {
  config {
    token_ids = var.ids
  }
}

action "cmdop_revoke_tokens" "by_key_prefixes" {
  config {
    key_prefixes = var.prefixes
  }
}

action "cmdop_revoke_tokens" "all_and_prefix" {
  config {
    all         = var.all
    name_prefix = var.prefix
  }
}

action "cmdop_revoke_tokens" "by_kind" {
  config {
    kind        = var.kind
    fleet_id    = var.fleet
    name_prefix = "prod-"
  }
}

action "cmdop_revoke_tokens" "bounded" {
  config {
    kind            = "fleet"
    name_prefix     = "prod-"
    max_revocations = var.max
  }
}
`,
	})
	api.srv.ResetStats()
	cases := []struct {
		action string
		env    []string
		want   []string
	}{
		{"by_prefix", []string{`TF_VAR_prefix=`}, []string{"name_prefix", "at least 1"}},
		{"by_prefix", nil, []string{"Empty token selection in cmdop_revoke_tokens"}}, // null
		{"by_all", []string{"TF_VAR_all=false"}, []string{"Empty token selection in cmdop_revoke_tokens", "all = false selects nothing"}},
		{"by_all", nil, []string{"Empty token selection in cmdop_revoke_tokens"}},
		{"by_ids", []string{"TF_VAR_ids=[]"}, []string{"token_ids", "at least 1"}},
		{"by_ids", []string{`TF_VAR_ids=["abc"]`}, []string{"must be a token ID"}},
		{"by_key_prefixes", []string{`TF_VAR_prefixes=["cmdop_"]`}, []string{"must be a key prefix"}},
		{"all_and_prefix", []string{"TF_VAR_all=true", "TF_VAR_prefix=prod-"}, []string{"Conflicting token selection", "cannot be combined with name_prefix"}},
		{"by_kind", []string{"TF_VAR_kind=robot"}, []string{"kind", "fleet", "personal"}},
		{"by_kind", []string{"TF_VAR_kind=personal", "TF_VAR_fleet=" + api.FleetID()}, []string{"Conflicting token selection", `kind = "personal"`}},
		{"by_kind", []string{"TF_VAR_fleet=a/b"}, []string{"must be a fleet ID"}},
		{"bounded", []string{"TF_VAR_max=0"}, []string{"max_revocations", "at least 1"}},
	}
	for _, tc := range cases {
		out, err := run.runEnv(tc.env, "apply", "-invoke=action.cmdop_revoke_tokens."+tc.action, "-auto-approve", "-input=false", "-no-color")
		if err == nil {
			t.Fatalf("%s with %v succeeded:\n%s", tc.action, tc.env, out)
		}
		expectContains(t, out, tc.want...)
		if strings.Contains(out, "Action started") && !strings.Contains(out, "Action failed") {
			t.Fatalf("%s with %v ran:\n%s", tc.action, tc.env, out)
		}
	}
	if n := api.deletes(); n != 0 {
		t.Fatalf("refused selections sent %d DELETEs, want 0", n)
	}
	api.expectAllActive(t, toks...)

	// The same variables, valid: the action runs, so the refusals above were
	// the rules and not a broken configuration.
	out := run.must("apply", "-invoke=action.cmdop_revoke_tokens.by_prefix", "-var", "prefix=prod-", "-auto-approve", "-input=false", "-no-color")
	expectContains(t, out, "summary: revoked 2, already revoked 0, failed 0.")
	if err := api.expectStatus(map[*cmdopapi.Token]string{toks[0]: cmdopapi.StatusActive, toks[1]: cmdopapi.StatusRevoked, toks[2]: cmdopapi.StatusRevoked}); err != nil {
		t.Fatal(err)
	}
}

// Values that are unknown at plan time, from a local that depends on a
// resource, and from an action_trigger's action whose selection is a
// conditional: PlanAction cannot see them, Invoke does, and refuses each.
// The API sees no DELETE and every token stays active.
func TestAccRevokeTokensAction_rulesFromResourcesAndTriggers(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	toks := []*cmdopapi.Token{
		api.createToken(api.FleetID(), "ci-1", nil),
		api.createToken(api.FleetID(), "prod-db", nil),
		api.createToken(api.FleetID(), "prod-web", nil),
	}
	api.srv.ResetStats()
	cases := []struct {
		name, locals, config string
		want                 []string
	}{
		{"empty_prefix", `prefix = terraform_data.src.output`, `name_prefix = local.prefix`, []string{"name_prefix", "at least 1"}},
		{"all_false", `all = terraform_data.src.output == "yes"`, `all = local.all`, []string{"Empty token selection", "all = false selects nothing"}},
		{"conditional_null", `only_ci = terraform_data.src.output == "ci"`, `name_prefix = local.only_ci ? "ci-" : null`, []string{"Empty token selection"}},
		{"empty_ids", `ids = terraform_data.src.output == "" ? [] : ["x"]`, `token_ids = local.ids`, []string{"token_ids", "at least 1"}},
		{"conflict", `all = terraform_data.src.output == ""`, "all = local.all\n    name_prefix = \"prod-\"", []string{"Conflicting token selection"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				TerraformVersionChecks:   queryVersionChecks,
				Steps: []resource.TestStep{{
					Config: api.config(fmt.Sprintf(`
resource "terraform_data" "src" {
  input = ""
}

locals {
  %s
}

resource "terraform_data" "leak_found" {
  input = terraform_data.src.output
  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.cmdop_revoke_tokens.x]
    }
  }
}

action "cmdop_revoke_tokens" "x" {
  config {
    kind = "fleet"
    %s
  }
}`, tc.locals, tc.config)),
					ExpectError: phrases(tc.want...),
				}},
			})
		})
	}
	if n := api.deletes(); n != 0 {
		t.Fatalf("refused selections sent %d DELETEs, want 0", n)
	}
	api.expectAllActive(t, toks...)
}

// An action block without a config block never crashes the CLI (Terraform
// 1.15.0 crashed, exit 11, on any diagnostic that validate or plan got for
// one), and invoking it gets a clean error before any API call. On
// Terraform 1.15.0, when bin/terraform-1.15.0 exists, the same runs must
// not crash either.
func TestAccRevokeTokensAction_noConfigBlock(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	tok := api.createToken(api.FleetID(), "leak-1", nil)
	files := map[string]string{"main.tf": `
provider "cmdop" {}

action "cmdop_revoke_tokens" "a" {}

action "cmdop_revoke_tokens" "b" {
  config {
    name_prefix = "leak-"
    dry_run     = true
  }
}
`}
	run := newCLIRun(t, api, files)
	clis := []string{os.Getenv("TF_ACC_TERRAFORM_PATH")}
	if tf115 := filepath.Join(filepathRepoBin(), "terraform-1.15.0"); fileExists(tf115) {
		clis = append(clis, tf115)
	}
	for _, cli := range clis {
		name := filepath.Base(cli)
		api.srv.ResetStats()
		for _, args := range [][]string{{"validate", "-no-color"}, {"plan", "-no-color", "-input=false"}} {
			if out, code := run.runCLI(cli, args...); code != 0 {
				t.Fatalf("%s %s exited %d, want 0:\n%s", name, args[0], code, out)
			}
		}
		out, code := run.runCLI(cli, "apply", "-invoke=action.cmdop_revoke_tokens.a", "-auto-approve", "-input=false", "-no-color")
		if code != 1 {
			t.Fatalf("%s apply -invoke exited %d, want 1 (an error, not a crash):\n%s", name, code, out)
		}
		// A null configuration, or an object of nulls: either message.
		if !containsFlat(out, "Missing config block in cmdop_revoke_tokens") {
			expectContains(t, out, "Empty token selection in cmdop_revoke_tokens", "no config block, or an empty one")
		}
		expectContains(t, out, "Add one that says what to revoke")
		if n := api.srv.Stats().Total; n != 0 {
			t.Fatalf("%s: invoking the blank action made %d API calls, want 0", name, n)
		}
		// The other action of the same configuration still runs.
		out, code = run.runCLI(cli, "apply", "-invoke=action.cmdop_revoke_tokens.b", "-auto-approve", "-input=false", "-no-color")
		if code != 0 {
			t.Fatalf("%s: invoking the other action exited %d:\n%s", name, code, out)
		}
		expectContains(t, out, "summary: would revoke 1, already revoked 0, failed 0.")
	}
	if n := api.deletes(); n != 0 {
		t.Fatalf("sent %d DELETEs, want 0", n)
	}
	api.expectAllActive(t, tok)
}

// filepathRepoBin is the repository's bin/, where the CLIs are built.
func filepathRepoBin() string { return filepath.Join(localtest.RepoRoot(), "bin") }

// runCLI runs another Terraform binary in the same working directory and
// returns its output and exit code.
func (c *cliRun) runCLI(cli string, args ...string) (string, int) {
	c.t.Helper()
	cmd := exec.Command(cli, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	c.t.Fatalf("running %s: %v", cli, err)
	return "", -1
}
