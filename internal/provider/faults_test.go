package provider_test

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// stateTokenIDs lists the IDs of every cmdop_fleet_token in the state.
func stateTokenIDs(s *terraform.State) []string {
	var ids []string
	for addr, rs := range s.RootModule().Resources {
		if strings.HasPrefix(addr, "cmdop_fleet_token.") {
			ids = append(ids, rs.Primary.Attributes["id"])
		}
	}
	sort.Strings(ids)
	return ids
}

// agree checks that the API's active fleet tokens are exactly those in the
// state: no orphan, no duplicate. Faults are paused while it looks.
func agree(api *testAPI, want int) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		faults := api.srv.Faults()
		defer func() { _ = api.srv.SetFaults(faults) }()
		if err := api.srv.SetFaults(cmdoplocal.FaultConfig{}); err != nil {
			return err
		}
		inState := stateTokenIDs(s)
		var active []string
		for id := range api.activeTokens(api.FleetID()) {
			active = append(active, id)
		}
		sort.Strings(active)
		if len(inState) != want || strings.Join(inState, ",") != strings.Join(active, ",") {
			return fmt.Errorf("the state holds %d tokens and the API %d active ones; they must be the same %d:\nstate %v\napi   %v",
				len(inState), len(active), want, inState, active)
		}
		return nil
	}
}

// noneActive checks, after a destroy, that the API has no active fleet
// token left. (CheckDestroy sees the state from before the destroy.)
func noneActive(api *testAPI) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		if err := api.srv.SetFaults(cmdoplocal.FaultConfig{}); err != nil {
			return err
		}
		if active := api.activeTokens(api.FleetID()); len(active) != 0 {
			return fmt.Errorf("after destroy the API still has %d active tokens", len(active))
		}
		return nil
	}
}

func flakyFleet(api *testAPI, round string, extra string) string {
	return api.config(fmt.Sprintf(`
resource "cmdop_fleet_token" "t" {
  count             = 50
  name              = "flaky-${count.index}"
  scopes            = ["machines:read"]
  rotation_triggers = { round = %q }
  %s
}`, round, extra))
}

// 50 tokens applied, rotated (create_before_destroy) and destroyed while
// cmdop-local fails 20% of requests: 503s before commit, connections
// dropped after commit, and 429s with Retry-After. Every operation
// succeeds, and the API's active tokens always equal the state's.
func TestAccFaults_flakyAPI(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	api.setFaults(cmdoplocal.FaultConfig{FailRate: 0.2})
	t.Cleanup(func() {
		st := api.srv.Stats()
		t.Logf("requests %d, faults injected: %d 503s, %d dropped after commit, %d 429s",
			st.Total, st.Faults.Unavailable, st.Faults.Drop, st.Faults.RateLimit)
		if st.Faults.Unavailable == 0 || st.Faults.Drop == 0 || st.Faults.RateLimit == 0 {
			t.Errorf("every fault mode must have been exercised: %+v", st.Faults)
		}
	})
	cbd := "lifecycle {\n    create_before_destroy = true\n  }"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             noneActive(api),
		Steps: []resource.TestStep{
			{Config: flakyFleet(api, "1", cbd), Check: agree(api, 50)},
			{Config: flakyFleet(api, "2", cbd), Check: agree(api, 50)},
		},
	})
}

// Faults that outlast the retry budget fail the apply with a clear error,
// and still no token is orphaned: each create that may have happened is
// kept as a tainted placeholder, which the next apply replaces, revoking
// the token the failed create issued.
func TestAccFaults_beyondRetryBudget(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	cfg := api.config(`
resource "cmdop_fleet_token" "t" {
  count  = 3
  name   = "doomed-${count.index}"
  scopes = ["machines:read"]
}`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             noneActive(api),
		Steps: []resource.TestStep{
			{
				// Every request is committed, then its connection dropped.
				PreConfig: func() {
					api.setFaults(cmdoplocal.FaultConfig{FailRate: 1, Modes: []string{"drop"}})
				},
				Config:      cfg,
				ExpectError: regexp.MustCompile(`(?s)Error creating fleet token "doomed-\d".*could not be reached.*run the command again`),
			},
			{
				// The API is back. The failed apply left three tainted
				// placeholders, and the API three tokens.
				PreConfig: func() {
					api.setFaults(cmdoplocal.FaultConfig{})
					if n := len(api.activeTokens(api.FleetID())); n != 3 {
						t.Fatalf("the API made %d tokens during the failed apply, want 3", n)
					}
				},
				// The next apply replaces the placeholders: it finds the three
				// tokens through their idempotency keys and revokes them.
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_fleet_token.t[0]", plancheck.ResourceActionReplace),
				}},
				Check: agree(api, 3),
			},
		},
	})
}

// With cmdop-local allowing 20 requests a second, applying and planning 200
// tokens succeeds with zero errors, paced by the 429s' Retry-After.
func TestAccFaults_rateLimited(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	api.setFaults(cmdoplocal.FaultConfig{RateLimit: 20})
	cfg := api.providerWith("", "max_retries = 10") + `
resource "cmdop_fleet_token" "t" {
  count  = 200
  name   = "paced-${count.index}"
  scopes = ["machines:read"]
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, Check: resource.ComposeAggregateTestCheckFunc(agree(api, 200), func(*terraform.State) error {
				if n := api.srv.Stats().Faults.RateLimit; n == 0 {
					return fmt.Errorf("the apply was never rate limited: the test proves nothing")
				} else {
					t.Logf("the apply of 200 tokens was answered %d 429s, and succeeded", n)
				}
				return nil
			})},
			{
				PreConfig: func() { api.srv.ResetStats() },
				Config:    cfg,
				PlanOnly:  true,
			},
		},
	})
}

// The provider's own token, revoked in the middle of an apply: a clear
// error, and every token the apply did create is in the state.
func TestAccFaults_providerTokenRevokedMidApply(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	own := api.createToken("", "terraform-ci", []string{"machines:read", "permissions:manage"})
	cfg := api.providerWith(own.RawToken, "") + `
resource "cmdop_fleet_token" "t" {
  count  = 40
  name   = "mid-${count.index}"
  scopes = ["machines:read"]
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					// The server revokes it inside the 10th create, before
					// answering it: no timing involved.
					if err := api.srv.RevokeAfterWrites(10, own.ID); err != nil {
						t.Fatal(err)
					}
				},
				Config:      cfg,
				ExpectError: phrases("rejected the provider's token", "creating the fleet token", "expired, was revoked", "cmdop_"),
			},
			{
				PreConfig: func() {
					if tok := api.token("", own.ID); tok.Status != cmdopapi.StatusRevoked {
						t.Fatalf("the provider's token is %s, want revoked by the server", tok.Status)
					}
					// Exactly the 10 creates answered before the revocation.
					created := 0
					for _, tok := range api.activeTokens(api.FleetID()) {
						if strings.HasPrefix(tok.Name, "mid-") {
							created++
						}
					}
					if created != 10 {
						t.Fatalf("%d mid- tokens exist, want the 10 created before the revocation", created)
					}
				},
				// The team supplies a new token: the state kept every created token.
				Config: api.config(`
resource "cmdop_fleet_token" "t" {
  count  = 40
  name   = "mid-${count.index}"
  scopes = ["machines:read"]
}`),
				Check: agree(api, 40),
			},
		},
	})
}

// A fleet token without permissions:manage cannot manage fleet tokens: the
// plan fails with a clear 403 naming the fleet and the missing permission,
// and nothing is written.
func TestAccFaults_providerTokenLacksPermissionsManage(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	weak := api.createToken(api.FleetID(), "weak", []string{"machines:read", "machines:write"})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: api.providerWith(weak.RawToken, "") + `
resource "cmdop_fleet_token" "t" {
  name   = "x"
  scopes = ["machines:read"]
}`,
			ExpectError: phrases(`Fleet "`+api.FleetID()+`" is not reachable`, "lacks the scope(s) permissions:manage"),
		}},
	})
	if w := api.writes(); w != 1 { // the weak token's own create
		t.Fatalf("the API saw %d write calls, want only the setup's 1", w)
	}
	if n := len(api.activeTokens(api.FleetID())); n != 1 {
		t.Fatalf("%d active fleet tokens, want only the weak one", n)
	}
}

// The timeouts block bounds an operation, the client's retries included.
func TestAccFaults_timeoutsBoundRetries(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig: func() {
				api.setFaults(cmdoplocal.FaultConfig{FailRate: 1, Modes: []string{"unavailable"}})
			},
			Config: api.providerWith("", "max_retries = 20") + `
resource "cmdop_fleet_token" "t" {
  name   = "bounded"
  scopes = ["machines:read"]
  timeouts {
    create = "2s"
  }
}`,
			ExpectError: phrases(`Error creating fleet token "bounded"`, "gave up waiting for the CMDOP API", "raise the timeout"),
		}, {
			PreConfig: func() {
				api.setFaults(cmdoplocal.FaultConfig{})
			},
			Config: api.config(`
resource "cmdop_fleet_token" "t" {
  name   = "bounded"
  scopes = ["machines:read"]
}`),
			Check: agree(api, 1),
		}},
	})
}
