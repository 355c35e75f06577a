package provider_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// expectStatus checks each token's status as the API sees it.
func (a *testAPI) expectStatus(want map[*cmdopapi.Token]string) error {
	for tok, status := range want {
		if got := a.token(tok.FleetID, tok.ID); got.Status != status {
			return fmt.Errorf("the API shows %q (%s) as %s, want %s", tok.Name, tok.ID, got.Status, status)
		}
	}
	return nil
}

// revokedBy returns the request ID of the audit log's token.revoked event
// for tok, checking that the provider's token (actorID) revoked it.
func (a *testAPI) revokedBy(tok *cmdopapi.Token, actorID string) (string, error) {
	events, _, err := a.admin.AuditEvents(context.Background(), cmdop.AuditQuery{TokenID: tok.ID, Actions: []string{cmdopapi.ActionTokenRevoked}}, 10)
	if err != nil {
		return "", err
	}
	if len(events) != 1 {
		return "", fmt.Errorf("%d token.revoked events for %q, want 1", len(events), tok.Name)
	}
	if events[0].Actor.ID != actorID || events[0].RequestID == "" {
		return "", fmt.Errorf("%q was revoked by %+v (request %q), want actor %s", tok.Name, events[0].Actor, events[0].RequestID, actorID)
	}
	return events[0].RequestID, nil
}

func (a *testAPI) adminTokenID(t *testing.T) string {
	t.Helper()
	acct, err := a.admin.Account(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return acct.TokenID
}

// An action_trigger runs the action after terraform_data is created: it
// revokes the fleet tokens whose names start with "leak-", the managed one
// included, and nothing else. The next apply replaces the managed token,
// which the action had revoked, saying why.
func TestAccRevokeTokensAction_afterCreate(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t) // before creating test data; the harness checks again
	leak1 := api.createToken(api.FleetID(), "leak-1", nil)
	leak2 := api.createToken(api.FleetID(), "leak-2", nil)
	old := api.createToken(api.FleetID(), "leak-old", nil)
	if err := api.admin.RevokeToken(t.Context(), api.FleetID(), old.ID); err != nil {
		t.Fatal(err)
	}
	keep := api.createToken(api.FleetID(), "keep", nil)
	personal := api.createToken("", "leak-personal", nil)
	admin := api.adminTokenID(t)
	config := api.config(`
resource "cmdop_fleet_token" "managed" {
  name   = "leak-managed"
  scopes = ["machines:read"]
}

resource "terraform_data" "leak_found" {
  input      = "leak found"
  depends_on = [cmdop_fleet_token.managed]
  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.cmdop_revoke_tokens.leak]
    }
  }
}

action "cmdop_revoke_tokens" "leak" {
  config {
    kind        = "fleet"
    name_prefix = "leak-"
  }
}`)
	var managedID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   queryVersionChecks,
		Steps: []resource.TestStep{
			{
				Config:             config,
				ExpectNonEmptyPlan: true, // the managed token is revoked: the next plan replaces it
				Check: resource.ComposeAggregateTestCheckFunc(
					capture("cmdop_fleet_token.managed", "id", &managedID),
					func(*terraform.State) error {
						managed := &cmdopapi.Token{ID: managedID, FleetID: api.FleetID(), Name: "leak-managed"}
						if err := api.expectStatus(map[*cmdopapi.Token]string{
							leak1: cmdopapi.StatusRevoked, leak2: cmdopapi.StatusRevoked, managed: cmdopapi.StatusRevoked,
							old: cmdopapi.StatusRevoked, keep: cmdopapi.StatusActive, personal: cmdopapi.StatusActive,
						}); err != nil {
							return err
						}
						for _, tok := range []*cmdopapi.Token{leak1, leak2, managed} {
							if _, err := api.revokedBy(tok, admin); err != nil {
								return err
							}
						}
						return secretRejected(api.URL, leak1.RawToken)
					},
				),
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_fleet_token.managed", plancheck.ResourceActionReplace),
					plancheck.ExpectResourceAction("terraform_data.leak_found", plancheck.ResourceActionNoop),
				}},
				Check: func(s *terraform.State) error {
					a, err := attrs(s, "cmdop_fleet_token.managed")
					if err != nil {
						return err
					}
					if a["id"] == managedID || api.token(api.FleetID(), a["id"]).Status != cmdopapi.StatusActive {
						return fmt.Errorf("the revoked managed token was not replaced by an active one")
					}
					return nil
				},
			},
		},
	})
}

// By token_ids, with the provider authenticating with one of them: the
// action skips the provider's own token unless include_self = true, and
// then revokes it last. dry_run revokes nothing.
func TestAccRevokeTokensAction_includeSelfAndDryRun(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)                                                                 // before creating test data; the harness checks again
	ops := api.createToken("", "ops", []string{"machines:read", "permissions:manage"}) // revoking needs permissions:manage
	other := api.createToken("", "other", nil)
	fleetTok := api.createToken(api.FleetID(), "fleet-one", nil)
	step := func(name, extra string) string {
		return api.providerWith(ops.RawToken, "") + fmt.Sprintf(`
resource "terraform_data" %[1]q {
  input = %[1]q
  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.cmdop_revoke_tokens.%[1]s]
    }
  }
}

action "cmdop_revoke_tokens" %[1]q {
  config {
    token_ids = [%[2]q, %[3]q, %[4]q]
    %[5]s
  }
}`, name, ops.ID, other.ID, fleetTok.ID, extra)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   queryVersionChecks,
		Steps: []resource.TestStep{
			{
				PreConfig: api.srv.ResetStats,
				Config:    step("dry", "dry_run = true"),
				Check: func(*terraform.State) error {
					if n := api.writes(); n != 0 {
						return fmt.Errorf("a dry run made %d write calls, want none", n)
					}
					return api.expectStatus(map[*cmdopapi.Token]string{ops: cmdopapi.StatusActive, other: cmdopapi.StatusActive, fleetTok: cmdopapi.StatusActive})
				},
			},
			{
				Config: step("skip_self", ""),
				Check: func(*terraform.State) error {
					if _, err := api.revokedBy(other, ops.ID); err != nil {
						return err
					}
					return api.expectStatus(map[*cmdopapi.Token]string{ops: cmdopapi.StatusActive, other: cmdopapi.StatusRevoked, fleetTok: cmdopapi.StatusRevoked})
				},
			},
			{
				Config: step("with_self", "include_self = true"),
				Check: func(*terraform.State) error {
					if _, err := api.revokedBy(ops, ops.ID); err != nil {
						return err
					}
					return secretRejected(api.URL, ops.RawToken)
				},
			},
		},
	})
}

// Selections that select nothing in particular, or contradict themselves,
// fail at plan time, before anything is revoked.
func TestAccRevokeTokensAction_badSelections(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t) // before creating test data; the harness checks again
	api.createToken(api.FleetID(), "a", nil)
	api.srv.ResetStats()
	cases := []struct {
		name, config string
		want         []string
	}{
		// An empty config block, like a missing one, is refused when the
		// action runs, not here: TestAccRevokeTokensAction_noConfigBlock.
		{"only_scope", `kind = "fleet"`, []string{"Empty token selection"}},
		{"all_false", `all = false`, []string{"Empty token selection"}},
		{"all_and_filter", "all = true\n    name_prefix = \"a\"", []string{"Conflicting token selection", "cannot be combined"}},
		{"personal_fleet", "kind = \"personal\"\n    fleet_id = \"f\"\n    all = true", []string{"Conflicting token selection", "kind = \"personal\""}},
		{"no_ids", `token_ids = []`, []string{"token_ids", "at least 1"}},
		{"not_uuid", `token_ids = ["abc"]`, []string{"must be a token ID"}},
		{"bad_kind", "kind = \"robot\"\n    all = true", []string{"kind", "fleet", "personal"}},
		{"bad_time", `created_before = "yesterday"`, []string{"Invalid RFC3339 String Value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				TerraformVersionChecks:   queryVersionChecks,
				Steps: []resource.TestStep{{
					Config: api.config(fmt.Sprintf(`
resource "terraform_data" "x" {
  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.cmdop_revoke_tokens.x]
    }
  }
}

action "cmdop_revoke_tokens" "x" {
  config {
    %s
  }
}`, tc.config)),
					PlanOnly:    true,
					ExpectError: phrases(tc.want...),
				}},
			})
		})
	}
	if n := api.writes(); n != 0 {
		t.Fatalf("invalid selections made %d write calls, want none", n)
	}
}

// With a fleet token as the provider's token and no fleet_id anywhere, the
// action looks at that token's fleet only (a fleet token has no personal
// tokens), and skips the provider's own token although the selection
// matches it.
func TestAccRevokeTokensAction_fleetTokenProvider(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t) // before creating test data; the harness checks again
	self := api.createToken(api.FleetID(), "leak-provider", []string{"permissions:manage", "machines:read"})
	leak := api.createToken(api.FleetID(), "leak-1", nil)
	personal := api.createToken("", "leak-personal", nil)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   queryVersionChecks,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "cmdop" {
  api_base_url = %q
  token        = %q
}

resource "terraform_data" "x" {
  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.cmdop_revoke_tokens.x]
    }
  }
}

action "cmdop_revoke_tokens" "x" {
  config {
    name_prefix = "leak-"
  }
}`, api.URL, self.RawToken),
			Check: func(*terraform.State) error {
				if _, err := api.revokedBy(leak, self.ID); err != nil {
					return err
				}
				if err := api.expectStatus(map[*cmdopapi.Token]string{
					self: cmdopapi.StatusActive, leak: cmdopapi.StatusRevoked, personal: cmdopapi.StatusActive,
				}); err != nil {
					return err
				}
				return secretWorks(api.URL, self.RawToken)
			},
		}},
	})
}
