package provider_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

var uuidShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Create records the identity; an import block with that identity imports
// each token with no change planned (the expiry inferred as an ID import
// infers it), and the import keeps the identity.
func TestAccTokenIdentity_createAndImport(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	config := api.config(`
resource "cmdop_fleet_token" "ci" {
  name   = "ci"
  scopes = ["machines:read"]
  expiry = "30d"
}
resource "cmdop_personal_token" "laptop" {
  name   = "laptop"
  scopes = ["machines:read"]
  expiry = "never"
}`)
	var fleetTokenID, personalTokenID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   identityVersionChecks,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentity("cmdop_fleet_token.ci", map[string]knownvalue.Check{
						"fleet_id": knownvalue.StringExact(api.FleetID()),
						"id":       knownvalue.StringRegexp(uuidShape),
					}),
					statecheck.ExpectIdentityValueMatchesState("cmdop_fleet_token.ci", tfjsonpath.New("id")),
					statecheck.ExpectIdentity("cmdop_personal_token.laptop", map[string]knownvalue.Check{
						"id": knownvalue.StringRegexp(uuidShape),
					}),
					statecheck.ExpectIdentityValueMatchesState("cmdop_personal_token.laptop", tfjsonpath.New("id")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					capture("cmdop_fleet_token.ci", "id", &fleetTokenID),
					capture("cmdop_personal_token.laptop", "id", &personalTokenID),
				),
			},
			{
				// A refresh and a no-op plan keep the identity (the framework
				// fails a Read that changes it).
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentityValueMatchesState("cmdop_fleet_token.ci", tfjsonpath.New("id")),
					statecheck.ExpectIdentityValueMatchesState("cmdop_fleet_token.ci", tfjsonpath.New("fleet_id")),
				},
			},
			{
				// The harness plans an import { identity = … } block and
				// fails unless the import is a no-op with the same identity.
				ResourceName:    "cmdop_fleet_token.ci",
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
				ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("cmdop_fleet_token.ci", tfjsonpath.New("expiry"), knownvalue.StringExact("30d")),
					plancheck.ExpectKnownValue("cmdop_fleet_token.ci", tfjsonpath.New("secret"), knownvalue.Null()),
				}},
			},
			{
				ResourceName:    "cmdop_personal_token.laptop",
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
				ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("cmdop_personal_token.laptop", tfjsonpath.New("expiry"), knownvalue.StringExact("never")),
				}},
			},
			{
				// An import by ID, with the ID Create returned, is a no-op too.
				ResourceName:    "cmdop_fleet_token.ci",
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateIdFunc: func(*terraform.State) (string, error) {
					return api.FleetID() + "/" + fleetTokenID, nil
				},
			},
		},
	})
	if personalTokenID == "" {
		t.Fatal("the personal token's ID was never captured")
	}
}

// A token issued outside Terraform (in the console, here through the API)
// is adopted with a hand-written import { identity = … } block: the plan
// imports it and changes nothing, and the apply brings it under Terraform
// without revoking or re-issuing it.
func TestAccTokenIdentity_adoptByIdentity(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	days := 30
	tok, err := api.admin.CreateToken(t.Context(), api.FleetID(), cmdopapi.CreateTokenRequest{
		Name: "console-made", Scopes: []string{"machines:read", "files:read"}, ExpiresInDays: &days,
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   identityVersionChecks,
		Steps: []resource.TestStep{{
			Config: api.config(fmt.Sprintf(`
import {
  to       = cmdop_fleet_token.adopted
  identity = {
    fleet_id = %q
    id       = %q
  }
}
resource "cmdop_fleet_token" "adopted" {
  name   = "console-made"
  scopes = ["files:read", "machines:read"]
  expiry = "30d"
}`, api.FleetID(), tok.ID)),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("cmdop_fleet_token.adopted", plancheck.ResourceActionNoop),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("cmdop_fleet_token.adopted", tfjsonpath.New("id"), knownvalue.StringExact(tok.ID)),
				statecheck.ExpectKnownValue("cmdop_fleet_token.adopted", tfjsonpath.New("secret"), knownvalue.Null()),
				statecheck.ExpectIdentity("cmdop_fleet_token.adopted", map[string]knownvalue.Check{
					"fleet_id": knownvalue.StringExact(api.FleetID()),
					"id":       knownvalue.StringExact(tok.ID),
				}),
			},
			Check: func(*terraform.State) error {
				if got := api.token(api.FleetID(), tok.ID); got.Status != cmdopapi.StatusActive {
					return fmt.Errorf("the adopted token is %s, want active", got.Status)
				}
				return secretWorks(api.URL, tok.RawToken)
			},
		}},
	})
}

// An identity that names no token, or not in the shape the resource
// expects, fails the plan and says how to write it.
func TestAccTokenIdentity_invalid(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   identityVersionChecks,
		Steps: []resource.TestStep{
			{
				Config: api.config(`
import {
  to       = cmdop_personal_token.x
  identity = { id = "not-a-uuid" }
}
resource "cmdop_personal_token" "x" {
  name   = "x"
  scopes = ["machines:read"]
}`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid import identity for cmdop_personal_token.*not a token ID`),
			},
			{
				Config: api.config(fmt.Sprintf(`
import {
  to       = cmdop_fleet_token.x
  identity = {
    fleet_id = %q
    id       = "00000000-0000-4000-8000-000000000000"
  }
}
resource "cmdop_fleet_token" "x" {
  name   = "x"
  scopes = ["machines:read"]
}`, api.FleetID())),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?i)non-existent|does not exist|no longer exists|Cannot import`),
			},
		},
	})
	if n := api.writes(); n != 0 {
		t.Fatalf("invalid identity imports made %d write calls, want none", n)
	}
}

// An identity that names a token the provider's credentials do not hold
// imports nothing and writes nothing: the admin's personal token under a
// colleague's credentials, and another fleet's token named with this
// fleet's ID.
func TestAccTokenIdentity_foreign(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	_, _, colleague, err := api.srv.AddMember(api.FleetID(), "admin", "colleague")
	if err != nil {
		t.Fatal(err)
	}
	admins := api.createToken("", "admins-laptop", nil)
	if _, err := api.srv.AddFleet("other"); err != nil {
		t.Fatal(err)
	}
	elsewhere := api.createToken("other", "elsewhere", nil)
	writes := api.writes()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   identityVersionChecks,
		Steps: []resource.TestStep{
			{
				Config: api.providerWith(colleague, "") + fmt.Sprintf(`
import {
  to       = cmdop_personal_token.x
  identity = { id = %q }
}
resource "cmdop_personal_token" "x" {
  name   = "admins-laptop"
  scopes = ["machines:read"]
}`, admins.ID),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?i)non-existent|does not exist|no longer exists|Cannot import`),
			},
			{
				Config: api.config(fmt.Sprintf(`
import {
  to       = cmdop_fleet_token.x
  identity = {
    fleet_id = %q
    id       = %q
  }
}
resource "cmdop_fleet_token" "x" {
  name   = "elsewhere"
  scopes = ["machines:read"]
}`, api.FleetID(), elsewhere.ID)),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?i)non-existent|does not exist|no longer exists|Cannot import`),
			},
		},
	})
	if n := api.writes() - writes; n != 0 {
		t.Fatalf("the foreign identity imports made %d write calls, want none", n)
	}
	for _, tok := range []*cmdopapi.Token{admins, elsewhere} {
		if got := api.token(tok.FleetID, tok.ID); got.Status != cmdopapi.StatusActive {
			t.Errorf("token %s is %s after the refused imports, want active", tok.Name, got.Status)
		}
	}
}
