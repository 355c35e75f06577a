package provider_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// Configuration through the environment, attributes winning over it, and
// a rejected provider token. These set process environment variables, so
// they do not run in parallel.
func TestAccProvider_environmentAndAttributes(t *testing.T) {
	api := newTestAPI(t)
	revoked, err := api.admin.CreateToken(context.Background(), "", cmdopapi.CreateTokenRequest{Name: "old-ci", Scopes: cmdopapi.Scopes}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := api.admin.RevokeToken(context.Background(), "", revoked.ID); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CMDOP_API_BASE_URL", api.URL)
	t.Setenv("CMDOP_FLEET_ID", api.FleetID())
	t.Setenv("CMDOP_TOKEN", "")
	t.Setenv("CMDOP_API_KEY", api.secret)

	const body = `
resource "cmdop_fleet_token" "env" {
  name   = "env"
  scopes = ["machines:read"]
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Everything from the environment (CMDOP_API_KEY as the token).
				Config: body,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("cmdop_fleet_token.env", tfjsonpath.New("fleet_id"), knownvalue.StringExact(api.FleetID())),
				},
			},
			{
				// CMDOP_TOKEN wins over CMDOP_API_KEY: a revoked one is rejected, clearly.
				PreConfig:   func() { t.Setenv("CMDOP_TOKEN", revoked.RawToken) },
				Config:      body,
				ExpectError: regexp.MustCompile(`(?s)rejected the provider's token.*` + regexp.QuoteMeta(revoked.KeyPrefix) + `….*from environment variable.*CMDOP_TOKEN.*expired, was revoked.*CMDOP_TOKEN`),
			},
			{
				// The attribute wins over both.
				Config: "provider \"cmdop\" {\n  token = \"" + api.secret + "\"\n}\n" + body,
			},
		},
	})
}

// terraform validate needs no credentials; a plan that needs the API and
// has no token fails at configure, before planning anything, listing the
// places searched, and nothing reaches the API.
func TestAccProvider_validateWithoutCredentials(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := newCLIRun(t, api, map[string]string{"main.tf": `
resource "cmdop_fleet_token" "x" {
  fleet_id = "f"
  name     = "x"
  scopes   = ["machines:read"]
}`})
	dir := t.TempDir() // not the CLI store of whoever runs the tests
	env := []string{"CMDOP_TOKEN=", "CMDOP_API_KEY=", "CMDOP_FLEET_ID=", "CMDOP_CONFIG_DIR=" + dir}
	if out, err := run.runEnv(env, "validate", "-no-color"); err != nil {
		t.Fatalf("terraform validate without credentials failed: %v\n%s", err, out)
	} else {
		expectContains(t, out, "Success! The configuration is valid")
	}
	out, err := run.runEnv(env, "plan", "-no-color")
	if err == nil {
		t.Fatalf("a plan without any token passed:\n%s", out)
	}
	expectContains(t, out, "Missing CMDOP API token", "Searched, in order", "CMDOP_TOKEN", "CMDOP_API_KEY",
		dir+"/ssh_workspaces.json", dir+"/token_prod.json", "terraform validate needs no token")
	expectNotContains(t, out, "1 to add")
	if n := api.srv.Stats().Total; n != 0 {
		t.Errorf("the API received %d requests, want 0", n)
	}
}
