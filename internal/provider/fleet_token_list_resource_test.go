package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// queryStepFirst is the configuration step a query step needs before it:
// the query step's list blocks go into a .tfquery.hcl file beside this
// step's configuration, whose provider block they use.
func (a *testAPI) queryStepFirst() resource.TestStep {
	return resource.TestStep{Config: a.config("")}
}

// Every filter of the fleet token list resource, the limit, and include_resource
// on a token issued outside Terraform, across more than one API page.
func TestAccFleetTokenList_query(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t) // before creating test data; the harness checks again
	days := 30
	console, err := api.admin.CreateToken(t.Context(), api.FleetID(), cmdopapi.CreateTokenRequest{
		Name: "console-made", Scopes: []string{"machines:read", "files:read"}, ExpiresInDays: &days,
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	cutoff := api.srv.Now()
	api.advance(time.Minute)
	// 205 more: one page of 200 and a second one.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range 205 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			api.createToken(api.FleetID(), fmt.Sprintf("bulk-%03d", i), nil)
		}()
	}
	wg.Wait()
	revoked := api.createToken(api.FleetID(), "bulk-revoked", nil)
	if err := api.admin.RevokeToken(t.Context(), api.FleetID(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	// Used once: no longer matches unused_since.
	used := api.createToken(api.FleetID(), "used", nil)
	api.advance(time.Minute)
	usedCutoff := api.srv.Now()
	api.advance(time.Minute)
	if err := secretWorks(api.URL, used.RawToken); err != nil {
		t.Fatal(err)
	}

	consoleIdentity := map[string]knownvalue.Check{
		"fleet_id": knownvalue.StringExact(api.FleetID()),
		"id":       knownvalue.StringExact(console.ID),
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   queryVersionChecks,
		Steps: []resource.TestStep{
			api.queryStepFirst(),
			{
				Query: true,
				Config: fmt.Sprintf(`
list "cmdop_fleet_token" "all" {
  provider = cmdop
  limit    = 1000
}
list "cmdop_fleet_token" "limited" {
  provider = cmdop
  limit    = 3
}
list "cmdop_fleet_token" "console" {
  provider         = cmdop
  include_resource = true
  config {
    fleet_id       = %[1]q
    name_prefix    = "console-"
    created_before = %[2]q
  }
}
list "cmdop_fleet_token" "revoked" {
  provider = cmdop
  config {
    status = "revoked"
  }
}
list "cmdop_fleet_token" "new_bulk" {
  provider = cmdop
  limit    = 1000
  config {
    name_prefix   = "bulk-"
    status        = "active"
    created_after = %[2]q
  }
}
list "cmdop_fleet_token" "stale" {
  provider = cmdop
  limit    = 1000
  config {
    unused_since = %[3]q
  }
}
`, api.FleetID(), cutoff.Add(time.Second).Format(time.RFC3339Nano), usedCutoff.Format(time.RFC3339Nano)),
				QueryResultChecks: []querycheck.QueryResultCheck{
					querycheck.ExpectLength("cmdop_fleet_token.all", 208),
					querycheck.ExpectLength("cmdop_fleet_token.limited", 3),
					querycheck.ExpectLength("cmdop_fleet_token.console", 1),
					querycheck.ExpectIdentity("cmdop_fleet_token.console", consoleIdentity),
					querycheck.ExpectResourceDisplayName("cmdop_fleet_token.console", queryfilter.ByResourceIdentity(consoleIdentity),
						knownvalue.StringExact("console-made ("+console.KeyPrefix+")")),
					querycheck.ExpectResourceKnownValues("cmdop_fleet_token.console", queryfilter.ByResourceIdentity(consoleIdentity), []querycheck.KnownValueCheck{
						{Path: tfjsonpath.New("id"), KnownValue: knownvalue.StringExact(console.ID)},
						{Path: tfjsonpath.New("name"), KnownValue: knownvalue.StringExact("console-made")},
						{Path: tfjsonpath.New("fleet_id"), KnownValue: knownvalue.StringExact(api.FleetID())},
						{Path: tfjsonpath.New("expiry"), KnownValue: knownvalue.StringExact("30d")},
						{Path: tfjsonpath.New("key_prefix"), KnownValue: knownvalue.StringExact(console.KeyPrefix)},
						{Path: tfjsonpath.New("status"), KnownValue: knownvalue.StringExact("active")},
						{Path: tfjsonpath.New("secret"), KnownValue: knownvalue.Null()},
						{Path: tfjsonpath.New("scopes"), KnownValue: knownvalue.SetExact([]knownvalue.Check{
							knownvalue.StringExact("files:read"), knownvalue.StringExact("machines:read"),
						})},
					}),
					querycheck.ExpectLength("cmdop_fleet_token.revoked", 1),
					querycheck.ExpectIdentity("cmdop_fleet_token.revoked", map[string]knownvalue.Check{
						"fleet_id": knownvalue.StringExact(api.FleetID()),
						"id":       knownvalue.StringExact(revoked.ID),
					}),
					querycheck.ExpectLength("cmdop_fleet_token.new_bulk", 205),
					// Everything but the used token.
					querycheck.ExpectLength("cmdop_fleet_token.stale", 207),
				},
			},
		},
	})
}

// The listing reads page after page only as far as the limit needs: with
// 250 tokens (two pages), limit = 3 reads one page and limit = 1000 both.
func TestAccFleetTokenList_pagesStopAtLimit(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t) // before creating test data; the harness checks again
	for i := range 250 {
		api.createToken(api.FleetID(), fmt.Sprintf("t-%03d", i), nil)
	}
	const route = "GET /api/fleets/{fleet_id}/api-keys"
	query := func(limit, want, pages int) resource.TestStep {
		return resource.TestStep{
			PreConfig: api.srv.ResetStats,
			Query:     true,
			Config: fmt.Sprintf(`
list "cmdop_fleet_token" "x" {
  provider = cmdop
  limit    = %d
}`, limit),
			QueryResultChecks: []querycheck.QueryResultCheck{
				querycheck.ExpectLength("cmdop_fleet_token.x", want),
				checkAPIReads(api, route, pages),
			},
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   queryVersionChecks,
		Steps:                    []resource.TestStep{api.queryStepFirst(), query(3, 3, 1), query(1000, 250, 2), query(200, 200, 1)},
	})
}

// checkAPIReads is a query check on the API's own count of calls to route
// since its stats were last reset.
func checkAPIReads(api *testAPI, route string, want int) querycheck.QueryResultCheck {
	return apiReadsCheck{api: api, route: route, want: want}
}

type apiReadsCheck struct {
	api   *testAPI
	route string
	want  int
}

func (c apiReadsCheck) CheckQuery(_ context.Context, _ querycheck.CheckQueryRequest, resp *querycheck.CheckQueryResponse) {
	if got := c.api.srv.Stats().ByRoute[c.route]; got != c.want {
		resp.Error = fmt.Errorf("the query made %d calls to %s, want %d", got, c.route, c.want)
	}
}

// The listing's failures: an API error after a first page of results were
// sent fails the query (nothing passes for a complete listing); a fleet
// the provider's token cannot manage (403) and a missing fleet fail with
// the fleet named; and a limit one past a page reads the second page.
func TestAccFleetTokenList_failures(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	for i := range 201 {
		api.createToken(api.FleetID(), fmt.Sprintf("t-%03d", i), nil)
	}
	if _, err := api.srv.AddFleet("not-mine"); err != nil {
		t.Fatal(err)
	}
	// A fleet token of the seeded fleet, which may manage its own fleet's
	// tokens only.
	fleetTok := api.createToken(api.FleetID(), "fleet-credential", []string{"machines:read", "permissions:manage"})
	const route = "GET /api/fleets/{fleet_id}/api-keys"
	list := func(provider, extra string) string {
		return fmt.Sprintf("list \"cmdop_fleet_token\" \"x\" {\n  provider = %s\n  limit    = 1000\n%s}\n", provider, extra)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   queryVersionChecks,
		Steps: []resource.TestStep{
			{Config: api.providerWith("", "max_retries = 0") + fmt.Sprintf(`
provider "cmdop" {
  alias        = "fleet"
  api_base_url = %q
  token        = %q
  fleet_id     = %q
}`, api.URL, fleetTok.RawToken, api.FleetID())},
			{
				// Page one answers, page two fails.
				PreConfig: func() {
					api.srv.ResetStats()
					api.setFaults(cmdoplocal.FaultConfig{Script: []string{"none", "unavailable"}})
				},
				Query:       true,
				Config:      list("cmdop", ""),
				ExpectError: regexp.MustCompile(`(?s)Error listing fleet tokens`),
			},
			{
				PreConfig:   func() { api.setFaults(cmdoplocal.FaultConfig{}) },
				Query:       true,
				Config:      list("cmdop", "  config {\n    fleet_id = \"no-such-fleet\"\n  }\n"),
				ExpectError: regexp.MustCompile(`(?s)no-such-fleet`),
			},
			{
				Query: true,
				// The seeded fleet's token cannot list another fleet: a 403.
				Config:      list("cmdop.fleet", "  config {\n    fleet_id = \"not-mine\"\n  }\n"),
				ExpectError: regexp.MustCompile(`(?s)HTTP 403.*another fleet.*not-mine`),
			},
			{
				PreConfig: func() {
					if n := api.writes(); n != 0 { // since the reset of the first query
						t.Errorf("the failing listings made %d API writes", n)
					}
					api.srv.ResetStats()
				},
				Query:  true,
				Config: strings.Replace(list("cmdop", ""), "limit    = 1000", "limit    = 201", 1),
				QueryResultChecks: []querycheck.QueryResultCheck{
					querycheck.ExpectLength("cmdop_fleet_token.x", 201),
					checkAPIReads(api, route, 2),
				},
			},
		},
	})
	if n := api.writes(); n != 0 {
		t.Errorf("the last listing made %d API writes", n)
	}
}
