package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

var secretShape = regexp.MustCompile(`^cmdop_[0-9A-Za-z]{32,}$`)

// Create, read, import and destroy, each checked against the API's view.
func TestAccFleetToken_lifecycle(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	const addr = "cmdop_fleet_token.ci"
	var id, secret string

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if tok := api.token(api.FleetID(), id); tok.Status != cmdopapi.StatusRevoked {
				return fmt.Errorf("after destroy the API shows token %s as %s, want revoked", id, tok.Status)
			}
			return secretRejected(api.URL, secret)
		},
		Steps: []resource.TestStep{
			{
				Config: api.config(`
resource "cmdop_fleet_token" "ci" {
  name   = "ci"
  scopes = ["machines:read", "commands:execute"]
}`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("fleet_id"), knownvalue.StringExact(api.FleetID())),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("active")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("expiry"), knownvalue.StringExact("90d")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("revoke_grace_period"), knownvalue.StringExact("0s")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("secret"), knownvalue.StringRegexp(secretShape)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("last_used_at"), knownvalue.Null()),
					statecheck.ExpectSensitiveValue(addr, tfjsonpath.New("secret")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					capture(addr, "id", &id),
					capture(addr, "secret", &secret),
					func(s *terraform.State) error {
						a, _ := attrs(s, addr)
						tok := api.token(api.FleetID(), id)
						if tok.Status != cmdopapi.StatusActive || tok.Name != "ci" || len(tok.Scopes) != 2 {
							return fmt.Errorf("the API shows %+v", tok)
						}
						if a["key_prefix"] != tok.KeyPrefix || secret[:12] != tok.KeyPrefix {
							return fmt.Errorf("key_prefix %q does not match the API's %q or the secret", a["key_prefix"], tok.KeyPrefix)
						}
						if tok.ExpiresAt == nil || tok.ExpiresAt.Sub(tok.CreatedAt) != 90*24*time.Hour {
							return fmt.Errorf("expires_at %v is not 90 days after created_at %v", tok.ExpiresAt, tok.CreatedAt)
						}
						return secretWorks(api.URL, secret)
					},
				),
			},
			{
				// The refresh picks up last_used_at from the API.
				Config: api.config(`
resource "cmdop_fleet_token" "ci" {
  name   = "ci"
  scopes = ["machines:read", "commands:execute"]
}`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("last_used_at"), knownvalue.NotNull()),
				},
			},
			{
				ResourceName:                         addr,
				ImportState:                          true,
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "id",
				ImportStateIdFunc: func(*terraform.State) (string, error) {
					return api.FleetID() + "/" + id, nil
				},
				ImportStateVerifyIgnore: []string{"secret", "last_used_at"},
			},
		},
	})
}

// Every expiry form, with the resulting expires_at checked against the API.
func TestAccFleetToken_expiryForms(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	custom := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Second)

	checkLifetime := func(name string, want time.Duration) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			a, err := attrs(s, "cmdop_fleet_token."+name)
			if err != nil {
				return err
			}
			tok := api.token(api.FleetID(), a["id"])
			switch {
			case want == 0 && (tok.ExpiresAt != nil || a["expires_at"] != ""):
				return fmt.Errorf("%s: want no expiry, API has %v, state %q", name, tok.ExpiresAt, a["expires_at"])
			case want == 0:
				return nil
			case tok.ExpiresAt == nil:
				return fmt.Errorf("%s: the API shows no expiry", name)
			case a["expires_at"] != tok.ExpiresAt.UTC().Format(time.RFC3339Nano):
				return fmt.Errorf("%s: state expires_at %q differs from the API's %v", name, a["expires_at"], tok.ExpiresAt)
			case want > 0 && tok.ExpiresAt.Sub(tok.CreatedAt) != want:
				return fmt.Errorf("%s: lifetime %v, want %v", name, tok.ExpiresAt.Sub(tok.CreatedAt), want)
			case want < 0 && !tok.ExpiresAt.Equal(custom):
				return fmt.Errorf("%s: expires_at %v, want %v", name, tok.ExpiresAt, custom)
			}
			return nil
		}
	}
	day := 24 * time.Hour
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: api.config(fmt.Sprintf(`
resource "cmdop_fleet_token" "never" {
  name   = "never"
  scopes = ["machines:read"]
  expiry = "never"
}
resource "cmdop_fleet_token" "d30" {
  name   = "d30"
  scopes = ["machines:read"]
  expiry = "30d"
}
resource "cmdop_fleet_token" "d90" {
  name   = "d90"
  scopes = ["machines:read"]
  expiry = "90d"
}
resource "cmdop_fleet_token" "y1" {
  name   = "y1"
  scopes = ["machines:read"]
  expiry = "1y"
}
resource "cmdop_fleet_token" "custom" {
  name   = "custom"
  scopes = ["machines:read"]
  expiry = %q
}`, custom.Format(time.RFC3339))),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkLifetime("never", 0),
				checkLifetime("d30", 30*day),
				checkLifetime("d90", 90*day),
				checkLifetime("y1", 365*day),
				checkLifetime("custom", -1),
			),
		}},
	})
}

const basicToken = `
resource "cmdop_fleet_token" "t" {
  name   = "rotating"
  scopes = ["machines:read"]
  %s
}`

func tokenConfig(api *testAPI, extra string) string {
	return api.config(fmt.Sprintf(basicToken, extra))
}

// A token revoked outside Terraform is replaced by the next apply.
func TestAccFleetToken_driftRevoked(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	var first, second string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: tokenConfig(api, ""), Check: capture("cmdop_fleet_token.t", "id", &first)},
			{
				PreConfig: func() {
					if err := api.admin.RevokeToken(context.Background(), api.FleetID(), first); err != nil {
						t.Fatal(err)
					}
				},
				Config: tokenConfig(api, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_fleet_token.t", plancheck.ResourceActionReplace),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					capture("cmdop_fleet_token.t", "id", &second),
					func(*terraform.State) error {
						if second == first || api.token(api.FleetID(), second).Status != cmdopapi.StatusActive {
							return fmt.Errorf("expected a new active token, got %s (old %s)", second, first)
						}
						return nil
					},
				),
			},
		},
	})
}

// markWrites records the API's write count now, for noWritesSince.
func markWrites(api *testAPI, mark *int) { *mark = api.writes() }

// noWritesSince checks that the API received no write since markWrites.
func noWritesSince(api *testAPI, mark *int, what string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if got := api.writes() - *mark; got != 0 {
			return fmt.Errorf("%s made %d API writes, want 0", what, got)
		}
		return nil
	}
}

// replacedBy checks, in the API's view, that the token *old was replaced
// by the one in the state: old is oldStatus, the new one active, expiring
// expiry after the server's now, and the only active token of that name.
func replacedBy(api *testAPI, old, now *string, oldStatus string, expiry time.Duration) resource.TestCheckFunc {
	return resource.ComposeAggregateTestCheckFunc(
		capture("cmdop_fleet_token.t", "id", now),
		func(*terraform.State) error {
			if *now == *old {
				return fmt.Errorf("the token %s was not replaced", *old)
			}
			if got := api.token(api.FleetID(), *old).Status; got != oldStatus {
				return fmt.Errorf("the replaced token is %s in the API, want %s", got, oldStatus)
			}
			tok := api.token(api.FleetID(), *now)
			want := api.srv.Now().Add(expiry)
			if tok.Status != cmdopapi.StatusActive || tok.ExpiresAt == nil || tok.ExpiresAt.Sub(want).Abs() > time.Minute {
				return fmt.Errorf("the replacement is %+v in the API, want active and expiring at %v", tok, want)
			}
			n := 0
			for _, t := range api.activeTokens(api.FleetID()) {
				if t.Name == tok.Name {
					n++
				}
			}
			if n != 1 {
				return fmt.Errorf("%d active tokens named %q, want 1", n, tok.Name)
			}
			return nil
		},
	)
}

// A token past its expiry (server clock advanced) is replaced: in the
// API, a new one is active for 30 days, and the old one was destroyed
// (revoked) like any replaced token.
func TestAccFleetToken_expired(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	var first, second string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: tokenConfig(api, `expiry = "30d"`), Check: capture("cmdop_fleet_token.t", "id", &first)},
			{
				PreConfig: func() { api.advance(31 * 24 * time.Hour) },
				Config:    tokenConfig(api, `expiry = "30d"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_fleet_token.t", plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("cmdop_fleet_token.t", tfjsonpath.New("status"), knownvalue.StringExact("active")),
				},
				Check: replacedBy(api, &first, &second, cmdopapi.StatusRevoked, 30*24*time.Hour),
			},
		},
	})
}

// rotate_before replaces the token inside its window, and not before: the
// steps outside it write nothing to the API.
func TestAccFleetToken_rotateBefore(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	cfg := tokenConfig(api, "expiry = \"30d\"\n  rotate_before = \"7d\"")
	var first, second string
	var mark int
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, Check: capture("cmdop_fleet_token.t", "id", &first)},
			{
				// Day 22: the window opens on day 23.
				PreConfig: func() { api.advance(22 * 24 * time.Hour); markWrites(api, &mark) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_fleet_token.t", plancheck.ResourceActionNoop),
				}},
				Check: noWritesSince(api, &mark, "a plan outside the window"),
			},
			{
				// Day 24: inside the window. The old token is revoked at once
				// (no revoke_grace_period).
				PreConfig: func() { api.advance(2 * 24 * time.Hour) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_fleet_token.t", plancheck.ResourceActionReplace),
				}},
				Check: replacedBy(api, &first, &second, cmdopapi.StatusRevoked, 30*24*time.Hour),
			},
			{
				// The replacement is fresh: nothing to do.
				PreConfig: func() { markWrites(api, &mark) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: noWritesSince(api, &mark, "the plan after the rotation"),
			},
		},
	})
}

// A change to rotation_triggers replaces the token; other in-place
// settings do not, and their update writes nothing to the API.
func TestAccFleetToken_rotationTriggers(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	var first, updated, second string
	var mark int
	var before *cmdopapi.Token
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: tokenConfig(api, `rotation_triggers = { period = "2026-11" }`),
				Check:  capture("cmdop_fleet_token.t", "id", &first),
			},
			{
				PreConfig: func() { before = api.token(api.FleetID(), first); markWrites(api, &mark) },
				Config:    tokenConfig(api, "rotation_triggers = { period = \"2026-11\" }\n  revoke_grace_period = \"1h\"\n  rotate_before = \"1d\""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_fleet_token.t", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					noWritesSince(api, &mark, "the in-place update"),
					capture("cmdop_fleet_token.t", "id", &updated),
					func(*terraform.State) error {
						after := api.token(api.FleetID(), first)
						if updated != first || after.Status != cmdopapi.StatusActive || !after.ExpiresAt.Equal(*before.ExpiresAt) {
							return fmt.Errorf("the in-place update changed the token: %+v, was %+v (state id %s)", after, before, updated)
						}
						return nil
					},
				),
			},
			{
				Config: tokenConfig(api, `rotation_triggers = { period = "2026-12" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_fleet_token.t", plancheck.ResourceActionReplace),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					capture("cmdop_fleet_token.t", "id", &second),
					func(*terraform.State) error {
						if second == first {
							return fmt.Errorf("the token was not replaced")
						}
						// The old token had a grace period of 1h: it still works, expiring soon.
						old := api.token(api.FleetID(), first)
						if old.Status != cmdopapi.StatusActive || old.ExpiresAt == nil || old.ExpiresAt.After(api.srv.Now().Add(time.Hour+time.Minute)) {
							return fmt.Errorf("the old token should expire within the grace period, the API shows %+v", old)
						}
						return nil
					},
				),
			},
		},
	})
}

// taint with create_before_destroy: the new token is issued before the old
// one is revoked, and the new secret works.
func TestAccFleetToken_taintCreateBeforeDestroy(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	cfg := tokenConfig(api, "lifecycle {\n    create_before_destroy = true\n  }")
	var oldID, oldSecret, newID, newSecret string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: resource.ComposeAggregateTestCheckFunc(
					capture("cmdop_fleet_token.t", "id", &oldID),
					capture("cmdop_fleet_token.t", "secret", &oldSecret),
				),
			},
			{
				Taint:  []string{"cmdop_fleet_token.t"},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_fleet_token.t", plancheck.ResourceActionCreateBeforeDestroy),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					capture("cmdop_fleet_token.t", "id", &newID),
					capture("cmdop_fleet_token.t", "secret", &newSecret),
					func(*terraform.State) error {
						if newID == oldID || newSecret == oldSecret {
							return fmt.Errorf("the token was not replaced")
						}
						issued, err := firstEvent(api, cmdopapi.ActionTokenIssued, newID)
						if err != nil {
							return err
						}
						revoked, err := firstEvent(api, cmdopapi.ActionTokenRevoked, oldID)
						if err != nil {
							return err
						}
						if !issued.Before(revoked) {
							return fmt.Errorf("the new token was issued at %v, not before the old one was revoked at %v", issued, revoked)
						}
						old := api.token(api.FleetID(), oldID)
						if old.RevokedAt == nil || !api.token(api.FleetID(), newID).CreatedAt.Before(*old.RevokedAt) {
							return fmt.Errorf("timestamps: old revoked_at %v, new created_at %v", old.RevokedAt, api.token(api.FleetID(), newID).CreatedAt)
						}
						if err := secretRejected(api.URL, oldSecret); err != nil {
							return err
						}
						return secretWorks(api.URL, newSecret)
					},
				),
			},
		},
	})
}

// revoke_grace_period: after a replace, the old token authenticates until
// the grace period ends, then fails with 401.
func TestAccFleetToken_revokeGracePeriod(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	cfg := tokenConfig(api, "revoke_grace_period = \"2h\"\n  lifecycle {\n    create_before_destroy = true\n  }")
	var oldSecret string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, Check: capture("cmdop_fleet_token.t", "secret", &oldSecret)},
			{
				Taint:  []string{"cmdop_fleet_token.t"},
				Config: cfg,
				Check: func(*terraform.State) error {
					if err := secretWorks(api.URL, oldSecret); err != nil {
						return fmt.Errorf("within the grace period the old token must still work: %w", err)
					}
					api.advance(time.Hour)
					if err := secretWorks(api.URL, oldSecret); err != nil {
						return fmt.Errorf("an hour into the 2h grace period the old token must still work: %w", err)
					}
					api.advance(time.Hour + time.Minute)
					return secretRejected(api.URL, oldSecret)
				},
			},
		},
	})
}

// A provider token that expires bounds the expiry of every token it issues:
// the plan says so, naming the provider token's expiry, before any write.
func TestAccFleetToken_expiryWithinProviderToken(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	days := 2
	issuer, err := api.admin.CreateToken(context.Background(), api.FleetID(), cmdopapi.CreateTokenRequest{
		Name: "short-lived", Scopes: []string{"machines:read", "permissions:manage"}, ExpiresInDays: &days,
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	limit := issuer.ExpiresAt.UTC().Format(time.RFC3339)
	before := api.writes()
	tokenWith := func(expiry string) string {
		return api.providerWith(issuer.RawToken, "") + fmt.Sprintf(`
resource "cmdop_fleet_token" "child" {
  name   = "child"
  scopes = ["machines:read"]
  expiry = %q
}`, expiry)
	}
	// The API rounds nothing: a date at or before the limit is issued.
	at := issuer.ExpiresAt.UTC().Add(-time.Minute).Format(time.RFC3339)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: tokenWith("never"), ExpectError: phrases("Token would outlive the provider's token", "Your token expires at "+limit+", so this token's expiry must be at or before "+limit, "never expires")},
			{Config: tokenWith("90d"), ExpectError: phrases("Token would outlive the provider's token", "Your token expires at "+limit, "(90 days from now")},
			{Config: tokenWith("2999-01-01T00:00:00Z"), ExpectError: phrases("Token would outlive the provider's token", "expires at 2999-01-01T00:00:00Z")},
			{
				PreConfig: func() {
					if w := api.writes(); w != before {
						t.Fatalf("the refused plans made %d writes", w-before)
					}
				},
				Config: tokenWith(at),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("cmdop_fleet_token.child", tfjsonpath.New("expires_at"), knownvalue.StringExact(at)),
				},
			},
		},
	})
}
