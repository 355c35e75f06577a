package provider_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// The personal token list resource finds the caller's personal tokens, one
// issued by Terraform and one outside it, each with an {id} identity, and
// with include_resource the state an import would produce.
func TestAccPersonalTokenList_query(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t) // before creating test data; the harness checks again
	laptop := api.createToken("", "laptop", []string{"machines:read"})
	api.createToken(api.FleetID(), "laptop-fleet", nil) // a fleet token: never listed here
	laptopIdentity := map[string]knownvalue.Check{"id": knownvalue.StringExact(laptop.ID)}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   queryVersionChecks,
		Steps: []resource.TestStep{
			{Config: api.config(`
resource "cmdop_personal_token" "tf" {
  name   = "laptop-tf"
  scopes = ["machines:read"]
  expiry = "1y"
}`)},
			{
				Query: true,
				Config: `
list "cmdop_personal_token" "mine" {
  provider = cmdop
}
list "cmdop_personal_token" "laptops" {
  provider         = cmdop
  include_resource = true
  config {
    name_prefix = "laptop"
    status      = "active"
  }
}
`,
				QueryResultChecks: []querycheck.QueryResultCheck{
					// The seeded admin token, laptop and laptop-tf.
					querycheck.ExpectLength("cmdop_personal_token.mine", 3),
					querycheck.ExpectLength("cmdop_personal_token.laptops", 2),
					querycheck.ExpectIdentity("cmdop_personal_token.laptops", laptopIdentity),
					querycheck.ExpectResourceDisplayName("cmdop_personal_token.laptops", queryfilter.ByResourceIdentity(laptopIdentity),
						knownvalue.StringExact(fmt.Sprintf("laptop (%s)", laptop.KeyPrefix))),
					querycheck.ExpectResourceKnownValues("cmdop_personal_token.laptops", queryfilter.ByResourceIdentity(laptopIdentity), []querycheck.KnownValueCheck{
						{Path: tfjsonpath.New("name"), KnownValue: knownvalue.StringExact("laptop")},
						{Path: tfjsonpath.New("expiry"), KnownValue: knownvalue.StringExact("never")},
						{Path: tfjsonpath.New("revoke_grace_period"), KnownValue: knownvalue.StringExact("0s")},
						{Path: tfjsonpath.New("secret"), KnownValue: knownvalue.Null()},
						{Path: tfjsonpath.New("expires_at"), KnownValue: knownvalue.Null()},
						{Path: tfjsonpath.New("owner_id"), KnownValue: knownvalue.StringExact(api.srv.OwnerUserID())},
					}),
					querycheck.ExpectResourceKnownValues("cmdop_personal_token.laptops",
						queryfilter.ByDisplayName(knownvalue.StringRegexp(regexp.MustCompile(`^laptop-tf \(cmdop_`))), []querycheck.KnownValueCheck{
							{Path: tfjsonpath.New("expiry"), KnownValue: knownvalue.StringExact("1y")},
							{Path: tfjsonpath.New("secret"), KnownValue: knownvalue.Null()},
						}),
				},
			},
		},
	})
}
