package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Create, import, a no-op plan and destroy, each checked against the API's
// view: the token it holds, the writes it received, the secret it accepts.
func TestAccPersonalToken_lifecycle(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	const addr = "cmdop_personal_token.me"
	cfg := api.config(`
resource "cmdop_personal_token" "me" {
  name   = "laptop"
  scopes = ["files:read", "files:write"]
  expiry = "never"
}`)
	var id, secret string
	var mark int
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if tok := api.token("", id); tok.Status != cmdopapi.StatusRevoked {
				return fmt.Errorf("after destroy the API shows %s", tok.Status)
			}
			return secretRejected(api.URL, secret)
		},
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("expires_at"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("active")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("secret"), knownvalue.StringRegexp(secretShape)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					capture(addr, "id", &id),
					capture(addr, "secret", &secret),
					func(*terraform.State) error {
						tok := api.token("", id)
						if tok.UserID != api.srv.OwnerUserID() || tok.FleetID != "" || tok.Name != "laptop" ||
							strings.Join(tok.Scopes, ",") != "files:read,files:write" || tok.ExpiresAt != nil || tok.Status != cmdopapi.StatusActive {
							return fmt.Errorf("the API shows %+v, want the owner's active personal token laptop with files:read, files:write and no expiry", tok)
						}
						return secretWorks(api.URL, secret)
					},
				),
			},
			{
				PreConfig:               func() { markWrites(api, &mark) },
				ResourceName:            addr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateIdFunc:       func(*terraform.State) (string, error) { return id, nil },
				ImportStateVerifyIgnore: []string{"secret", "last_used_at"},
			},
			{
				// Nothing to do, and nothing written since the import began.
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					noWritesSince(api, &mark, "the import and the no-op apply"),
					func(*terraform.State) error {
						if len(api.activeTokens("")) != 2 { // the admin's and laptop
							return fmt.Errorf("the API holds %d active personal tokens, want the admin's and laptop", len(api.activeTokens("")))
						}
						return nil
					},
				),
			},
		},
	})
}

// An imported token plans no change when its configuration matches, even
// with the default expiry.
func TestAccPersonalToken_importBlockNoChange(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	tok, err := api.admin.CreateToken(context.Background(), "", cmdopapi.CreateTokenRequest{Name: "old", Scopes: []string{"machines:read"}, ExpiresInDays: ptr(90)}, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.config(fmt.Sprintf(`
import {
  to = cmdop_personal_token.old
  id = %q
}
resource "cmdop_personal_token" "old" {
  name   = "old"
  scopes = ["machines:read"]
}`, tok.ID))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_personal_token.old", plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("cmdop_personal_token.old", tfjsonpath.New("secret"), knownvalue.Null()),
					statecheck.ExpectKnownValue("cmdop_personal_token.old", tfjsonpath.New("expiry"), knownvalue.StringExact("90d")),
				},
			},
		},
	})
}

// A personal token asking for scopes the provider's token lacks gets a
// clear 403 naming them, and nothing is created.
func TestAccPersonalToken_scopesBeyondCaller(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	// permissions:manage lets it issue tokens at all; it lacks the rest.
	limited, err := api.admin.CreateToken(context.Background(), "", cmdopapi.CreateTokenRequest{Name: "limited", Scopes: []string{"machines:read", "permissions:manage"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	before := api.writes()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: api.providerWith(limited.RawToken, "") + `
resource "cmdop_personal_token" "wide" {
  name   = "wide"
  scopes = ["machines:read", "permissions:manage", "files:write", "agent:invoke"]
}`,
			ExpectError: regexp.MustCompile(`(?s)Error creating personal token "wide".*lacks the scope\(s\)\s+(agent:invoke, files:write|files:write, agent:invoke)`),
		}},
	})
	all, _ := api.admin.ListAllTokens(context.Background(), "")
	for _, tok := range all {
		if tok.Name == "wide" {
			t.Fatalf("a token was created despite the 403: %+v", tok)
		}
	}
	if got := api.writes() - before; got != 1 {
		t.Fatalf("want exactly the one rejected POST, the API saw %d writes", got)
	}
}

func ptr[T any](v T) *T { return &v }
