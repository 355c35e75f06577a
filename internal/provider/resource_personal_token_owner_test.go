package provider_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// owner_id says in the configuration whose personal token it is: another
// user's ID fails the plan before anything is issued, the caller's own is
// applied and then plans no change, and changing it is refused.
func TestAccPersonalToken_ownerID(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	owner := api.srv.OwnerUserID()
	otherUser, _, _, err := api.srv.AddMember("", "admin", "Colleague")
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(id string) string {
		return api.config(`
resource "cmdop_personal_token" "t" {
  name     = "laptop"
  scopes   = ["machines:read"]
  owner_id = "` + id + `"
}`)
	}
	api.srv.ResetStats()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      cfg(otherUser),
				PlanOnly:    true,
				ExpectError: phrases("belongs to another user", "belongs to user "+otherUser, "authenticated as user "+owner),
			},
			{
				PreConfig: func() {
					if n := api.writes(); n != 0 {
						t.Fatalf("another user's owner_id made %d write calls, want 0", n)
					}
				},
				Config: cfg(owner),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("cmdop_personal_token.t", tfjsonpath.New("owner_id"), knownvalue.StringExact(owner)),
				},
			},
			{
				Config: cfg(owner),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_personal_token.t", plancheck.ResourceActionNoop),
				}},
			},
			{
				Config:      cfg(otherUser),
				ExpectError: phrases("Personal token owner cannot change", "belongs to user "+owner, "owner_id says "+otherUser),
			},
		},
	})
}
