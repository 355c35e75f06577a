package provider_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// The personal token list resource finds the caller's personal tokens, one
// issued by Terraform and one outside it, each with an {id} identity, and
// with include_resource the state an import would produce. The provider's
// own token is listed only with include_self = true.
func TestAccPersonalTokenList_query(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t) // before creating test data; the harness checks again
	laptop := api.createToken("", "laptop", []string{"machines:read"})
	api.createToken(api.FleetID(), "laptop-fleet", nil) // a fleet token: never listed here
	laptopIdentity := map[string]knownvalue.Check{"id": knownvalue.StringExact(laptop.ID)}
	adminID := api.adminTokenID(t)
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
list "cmdop_personal_token" "with_self" {
  provider = cmdop
  config {
    include_self = true
  }
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
					// laptop and laptop-tf: the seeded admin token, which the
					// provider authenticates with, only with include_self.
					querycheck.ExpectLength("cmdop_personal_token.mine", 2),
					querycheck.ExpectLength("cmdop_personal_token.with_self", 3),
					querycheck.ExpectIdentity("cmdop_personal_token.with_self", map[string]knownvalue.Check{"id": knownvalue.StringExact(adminID)}),
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

// Adoption never takes the caller's own token: `terraform query
// -generate-config-out` of every personal token writes no block for the
// token the provider authenticates with, so a later destroy cannot revoke
// it; with include_self = true it does. Each block says whose token it is
// (owner_id).
func TestAccPersonalTokenList_generateConfigLeavesOutSelf(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	laptop := api.createToken("", "laptop", nil)
	adminID := api.adminTokenID(t)
	for _, includeSelf := range []bool{false, true} {
		run := newCLIRun(t, api, map[string]string{
			"main.tf": "provider \"cmdop\" {}\n",
			"adopt.tfquery.hcl": fmt.Sprintf(`
list "cmdop_personal_token" "all" {
  provider         = cmdop
  include_resource = true
  config {
    include_self = %t
  }
}
`, includeSelf),
		})
		out := run.must("query", "-no-color", "-generate-config-out=adopt.tf")
		generated, err := os.ReadFile(filepath.Join(run.dir, "adopt.tf"))
		if err != nil {
			t.Fatalf("terraform query wrote no adopt.tf: %v\n%s", err, out)
		}
		gen := string(generated)
		if !strings.Contains(gen, laptop.ID) {
			t.Fatalf("adopt.tf lacks the laptop token:\n%s", gen)
		}
		// The generated configuration says whose token it is.
		if !regexp.MustCompile(`owner_id\s*=\s*"` + regexp.QuoteMeta(api.srv.OwnerUserID()) + `"`).MatchString(gen) {
			t.Fatalf("adopt.tf does not say whose token it is (owner_id):\n%s", gen)
		}
		if strings.Contains(gen, adminID) != includeSelf {
			t.Fatalf("include_self = %t: adopt.tf holds the provider's own token %s: %t\n%s", includeSelf, adminID, !includeSelf, gen)
		}
	}
}
