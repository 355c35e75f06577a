package provider_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// The documented adoption path, through the real CLI: `terraform query
// -generate-config-out` writes resource and import { identity } blocks for
// tokens issued outside Terraform, the plan then imports each and changes
// nothing, and the apply adopts them, still active, with no secret written
// anywhere.
func TestAccTokenList_generateConfigAndAdopt(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	days := 30
	ctx := t.Context()
	var made []*cmdopapi.Token
	for _, c := range []struct {
		fleet, name string
		days        *int
	}{
		{api.FleetID(), "console-ci", &days},
		{api.FleetID(), "console-forever", nil},
		{"", "console-laptop", nil},
	} {
		tok, err := api.admin.CreateToken(ctx, c.fleet, cmdopapi.CreateTokenRequest{
			Name: c.name, Scopes: []string{"machines:read"}, ExpiresInDays: c.days,
		}, "")
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, tok)
	}
	api.createToken(api.FleetID(), "other", nil) // not matched by the query
	run := newCLIRun(t, api, map[string]string{
		"main.tf": "provider \"cmdop\" {}\n",
		"adopt.tfquery.hcl": `
list "cmdop_fleet_token" "console" {
  provider         = cmdop
  include_resource = true
  config {
    name_prefix = "console-"
  }
}
list "cmdop_personal_token" "console" {
  provider         = cmdop
  include_resource = true
  config {
    name_prefix = "console-"
  }
}
`,
	})
	out := run.must("query", "-no-color", "-generate-config-out=adopt.tf")
	expectContains(t, out, "console-ci ("+made[0].KeyPrefix+")", "console-laptop ("+made[2].KeyPrefix+")")
	generated, err := os.ReadFile(filepath.Join(run.dir, "adopt.tf"))
	if err != nil {
		t.Fatalf("terraform query wrote no adopt.tf: %v\n%s", err, out)
	}
	gen := string(generated)
	t.Logf("terraform query wrote adopt.tf:\n%s", gen)
	for _, tok := range made {
		if !strings.Contains(gen, tok.ID) {
			t.Fatalf("adopt.tf lacks token %s:\n%s", tok.ID, gen)
		}
	}
	if n := strings.Count(gen, "import {"); n != 3 {
		t.Fatalf("adopt.tf holds %d import blocks, want 3:\n%s", n, gen)
	}
	if !regexp.MustCompile(`(?s)import \{.*identity\s*=`).MatchString(gen) {
		t.Fatalf("adopt.tf imports by something other than identity:\n%s", gen)
	}
	if strings.Contains(gen, "secret") || strings.Contains(gen, "other") || cmdopapi.SecretPattern.MatchString(gen) {
		t.Fatalf("adopt.tf holds a secret, or a token the query did not match:\n%s", gen)
	}

	out = run.must("plan", "-no-color", "-input=false")
	expectContains(t, out, "Plan: 3 to import, 0 to add, 0 to change, 0 to destroy.")
	out = run.must("apply", "-no-color", "-input=false", "-auto-approve")
	expectContains(t, out, "Apply complete! Resources: 3 imported, 0 added, 0 changed, 0 destroyed.")
	for _, tok := range made {
		fleet := tok.FleetID
		if got := api.token(fleet, tok.ID); got.Status != cmdopapi.StatusActive {
			t.Fatalf("adopting %s left it %s, want active", tok.Name, got.Status)
		}
	}
	if err := secretWorks(api.URL, made[0].RawToken); err != nil {
		t.Fatalf("the adopted token no longer authenticates: %v", err)
	}
	out = run.must("plan", "-no-color", "-input=false", "-detailed-exitcode")
	expectContains(t, out, "No changes.")
	state, err := os.ReadFile(filepath.Join(run.dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	if cmdopapi.SecretPattern.Match(state) {
		t.Fatal("the state of adopted tokens holds a secret")
	}
}
