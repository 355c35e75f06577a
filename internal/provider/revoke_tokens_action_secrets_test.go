package provider_test

import (
	"os"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// A secret-scanning alert hands the responder secrets, not IDs: `secrets`,
// passed through TF_VAR_leaked, revokes exactly the tokens they
// authenticate as. A revoked secret and a string that is no CMDOP token are
// reported as "already revoked or not a CMDOP token", not as failures. No
// secret appears in the output or in a TRACE log, and the plan shows the
// sensitive variable's value as "(sensitive value)".
func TestAccRevokeTokensAction_secrets(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	leakFleet := api.createToken(api.FleetID(), "ci-deploy", nil)
	leakPersonal := api.createToken("", "laptop", nil)
	keep := api.createToken(api.FleetID(), "ci-other", nil)
	gone := api.createToken(api.FleetID(), "ci-gone", nil)
	if err := api.admin.RevokeToken(t.Context(), api.FleetID(), gone.ID); err != nil {
		t.Fatal(err)
	}
	run := newCLIRun(t, api, map[string]string{"main.tf": `
provider "cmdop" {}

variable "leaked" {
  type      = list(string)
  sensitive = true
  default   = null
}

action "cmdop_revoke_tokens" "leak" {
  config {
    secrets = var.leaked
  }
}
`})
	run.withTraceLog()
	api.srv.ResetStats()
	leaked := `["` + leakFleet.RawToken + `","` + gone.RawToken + `","not-a-token","` + leakPersonal.RawToken + `"]`
	out, err := run.runEnv([]string{"TF_VAR_leaked=" + leaked}, "apply", "-invoke=action.cmdop_revoke_tokens.leak", "-auto-approve", "-input=false", "-no-color")
	if err != nil {
		t.Fatalf("invoking with secrets failed: %v\n%s", err, out)
	}
	t.Logf("the action reported:\n%s", out)
	expectContains(t, out, "secrets = (sensitive value)", "summary: revoked 2, already revoked 0, failed 0.",
		"Already revoked or not a CMDOP token (it does not authenticate): secrets[1], secrets[2]")
	if err := api.expectStatus(map[*cmdopapi.Token]string{
		leakFleet: cmdopapi.StatusRevoked, leakPersonal: cmdopapi.StatusRevoked, keep: cmdopapi.StatusActive,
	}); err != nil {
		t.Fatal(err)
	}
	if n := api.deletes(); n != 2 {
		t.Fatalf("%d DELETEs, want 2: exactly the leaked, active tokens", n)
	}
	for _, tok := range []*cmdopapi.Token{leakFleet, leakPersonal} {
		reqID, err := api.revokedBy(tok, api.adminTokenID(t))
		if err != nil {
			t.Fatal(err)
		}
		expectContains(t, out, reqID)
	}
	// The who-am-I call made with the leaked secret is one recorded use.
	events, _, err := api.admin.AuditEvents(t.Context(), cmdop.AuditQuery{TokenID: leakFleet.ID, Actions: []string{cmdopapi.ActionTokenUsed}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("%d token.used events for the leaked token, want 1 (the who-am-I check)", len(events))
	}
	trace, err := os.ReadFile(run.log)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{leakFleet.RawToken, leakPersonal.RawToken, gone.RawToken, "not-a-token"} {
		if strings.Contains(out, secret) || strings.Contains(string(trace), secret) {
			t.Fatalf("a secret from secrets appears in the output or the TRACE log")
		}
	}
	if len(trace) == 0 {
		t.Fatal("the TRACE log is empty: the test proves nothing")
	}

	// A secret whose token lives outside the places searched (another
	// fleet) matches no token: the action fails, names the fleet, and
	// revokes nothing, not even the secret beside it that does match.
	otherFleet, err := api.srv.AddFleet("")
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := api.createToken(otherFleet, "ci-elsewhere", nil)
	api.srv.ResetStats()
	leaked = `["` + elsewhere.RawToken + `","` + keep.RawToken + `"]`
	out, err = run.runEnv([]string{"TF_VAR_leaked=" + leaked}, "apply", "-invoke=action.cmdop_revoke_tokens.leak", "-auto-approve", "-input=false", "-no-color")
	if err == nil {
		t.Fatalf("a secret of a token outside the selection's places succeeded:\n%s", out)
	}
	expectContains(t, out, "No token matched the cmdop_revoke_tokens selection", "- secrets[0]: it authenticates as a token among the fleet tokens of fleet "+otherFleet)
	if strings.Contains(out, elsewhere.RawToken) || strings.Contains(out, keep.RawToken) {
		t.Fatal("a secret appears in the output")
	}
	if n := api.deletes(); n != 0 {
		t.Fatalf("%d DELETEs, want 0", n)
	}
	api.expectAllActive(t, keep)
	if got := api.token(otherFleet, elsewhere.ID).Status; got != cmdopapi.StatusActive {
		t.Fatalf("the other fleet's token is %s", got)
	}
}

// key_prefixes as the console shows them: a typo matches no token and fails
// before anything is revoked; the right prefix revokes its token. A filter
// that matches nothing warns with the number of tokens searched.
func TestAccRevokeTokensAction_keyPrefixesAndNoMatch(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	leak := api.createToken(api.FleetID(), "ci-1", nil)
	keep := api.createToken(api.FleetID(), "ci-2", nil)
	typo := leak.KeyPrefix[:len(leak.KeyPrefix)-1] + "0"
	if typo == leak.KeyPrefix || typo == keep.KeyPrefix {
		typo = leak.KeyPrefix[:len(leak.KeyPrefix)-1] + "1"
	}
	run := newCLIRun(t, api, map[string]string{"main.tf": `
provider "cmdop" {}

variable "prefixes" {
  type = set(string)
}

action "cmdop_revoke_tokens" "by_prefix" {
  config {
    key_prefixes = var.prefixes
  }
}

action "cmdop_revoke_tokens" "by_name" {
  config {
    kind        = "fleet"
    name_prefix = "prod-"
  }
}
`})
	api.srv.ResetStats()
	out, err := run.run("apply", "-invoke=action.cmdop_revoke_tokens.by_prefix", "-var", `prefixes=["`+leak.KeyPrefix+`","`+typo+`"]`, "-auto-approve", "-input=false", "-no-color")
	if err == nil {
		t.Fatalf("a key prefix that matches nothing succeeded:\n%s", out)
	}
	expectContains(t, out, "No token matched the cmdop_revoke_tokens selection", "revoked nothing", "- key_prefixes: "+typo, "Check each value for a typo")
	if n := api.deletes(); n != 0 {
		t.Fatalf("%d DELETEs, want 0", n)
	}
	api.expectAllActive(t, leak, keep)

	out = run.must("apply", "-invoke=action.cmdop_revoke_tokens.by_prefix", "-var", `prefixes=["`+leak.KeyPrefix+`"]`, "-auto-approve", "-input=false", "-no-color")
	expectContains(t, out, "summary: revoked 1, already revoked 0, failed 0.")
	if err := api.expectStatus(map[*cmdopapi.Token]string{leak: cmdopapi.StatusRevoked, keep: cmdopapi.StatusActive}); err != nil {
		t.Fatal(err)
	}

	out = run.must("apply", "-invoke=action.cmdop_revoke_tokens.by_name", "-var", "prefixes=null", "-auto-approve", "-input=false", "-no-color")
	// ci-1 and ci-2: the seeded admin token is a personal one.
	expectContains(t, out, "Warning: cmdop_revoke_tokens matched no token", `The filters name_prefix = "prod-" matched none of the 2 token(s) searched`)
}

// max_revocations stops an oversize selection before anything is revoked,
// with the count and the list, and a dry run, switched on from a variable,
// reports the same. all = true is not bounded. dry_run = var.dry_run with
// -var dry_run=true revokes nothing, and with false revokes.
func TestAccRevokeTokensAction_maxRevocationsAndDryRunVariable(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	var toks []*cmdopapi.Token
	for _, name := range []string{"ci-1", "ci-2", "ci-3"} {
		toks = append(toks, api.createToken(api.FleetID(), name, nil))
	}
	run := newCLIRun(t, api, map[string]string{"main.tf": `
provider "cmdop" {}

variable "dry_run" {
  type    = bool
  default = false
}

variable "max" {
  type    = number
  default = 2
}

action "cmdop_revoke_tokens" "ci" {
  config {
    kind            = "fleet"
    name_prefix     = "ci-"
    max_revocations = var.max
    dry_run         = var.dry_run
  }
}
`})
	api.srv.ResetStats()
	for _, dry := range []string{"true", "false"} {
		out, err := run.run("apply", "-invoke=action.cmdop_revoke_tokens.ci", "-var", "dry_run="+dry, "-auto-approve", "-input=false", "-no-color")
		if err == nil {
			t.Fatalf("an oversize selection succeeded (dry_run = %s):\n%s", dry, out)
		}
		expectContains(t, out, "Too many tokens selected by cmdop_revoke_tokens", "would revoke 3 token(s), more than max_revocations = 2",
			"set max_revocations = 3", `fleet token "ci-1"`, `fleet token "ci-2"`, `fleet token "ci-3"`)
	}
	if n := api.writes(); n != 0 {
		t.Fatalf("%d write calls, want 0", n)
	}
	api.expectAllActive(t, toks...)

	out := run.must("apply", "-invoke=action.cmdop_revoke_tokens.ci", "-var", "dry_run=true", "-var", "max=3", "-auto-approve", "-input=false", "-no-color")
	expectContains(t, out, "(dry run: nothing is revoked)", "summary: would revoke 3, already revoked 0, failed 0.")
	if n := api.writes(); n != 0 {
		t.Fatalf("a dry run made %d write calls, want 0", n)
	}
	out = run.must("apply", "-invoke=action.cmdop_revoke_tokens.ci", "-var", "dry_run=false", "-var", "max=3", "-auto-approve", "-input=false", "-no-color")
	expectContains(t, out, "summary: revoked 3, already revoked 0, failed 0.")
	if n := api.deletes(); n != 3 {
		t.Fatalf("%d DELETEs, want 3", n)
	}
}
