package provider_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
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
				ExpectError: regexp.MustCompile(`(?s)rejected the provider's own token.*revoked or has expired.*CMDOP_TOKEN`),
			},
			{
				// The attribute wins over both.
				Config: "provider \"cmdop\" {\n  token = \"" + api.secret + "\"\n}\n" + body,
			},
		},
	})
}

// terraform validate needs no credentials, and calls no API: run with
// none at all (no token, no CLI store, no fleet), against an API that
// counts every request it receives.
func TestAccProvider_validateWithoutCredentials(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := newCLIRun(t, api, map[string]string{"main.tf": `
resource "cmdop_fleet_token" "x" {
  fleet_id = "f"
  name     = "x"
  scopes   = ["machines:read"]
}`})
	none := []string{"CMDOP_TOKEN=", "CMDOP_API_KEY=", "CMDOP_FLEET_ID=", "CMDOP_CONFIG_DIR=" + t.TempDir()}
	before := api.srv.Stats().Total
	out, err := run.runEnv(none, "validate", "-no-color")
	if err != nil {
		t.Fatalf("terraform validate without credentials failed: %v\n%s", err, out)
	}
	expectContains(t, out, "Success! The configuration is valid")
	if got := api.srv.Stats().Total - before; got != 0 {
		t.Errorf("terraform validate made %d API requests, want none", got)
	}
	// A plan of a new token needs none either (apply does), and asks nothing.
	out, err = run.runEnv(none, "plan", "-no-color")
	if err != nil {
		t.Fatalf("a plan without credentials failed: %v\n%s", err, out)
	}
	expectContains(t, out, "Plan: 1 to add, 0 to change, 0 to destroy")
	if got := api.srv.Stats().Total - before; got != 0 {
		t.Errorf("the plan without credentials made %d API requests, want none", got)
	}
}
