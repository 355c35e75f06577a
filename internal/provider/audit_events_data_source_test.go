package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// events reads the events of a cmdop_audit_events from the state.
func events(s *terraform.State, addr string) ([]map[string]string, error) {
	a, err := attrs(s, addr)
	if err != nil {
		return nil, err
	}
	n, _ := strconv.Atoi(a["events.#"])
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = map[string]string{}
		for _, k := range []string{"id", "time", "action", "actor_type", "actor_id", "token_id", "fleet_id", "request_id", "status_code"} {
			out[i][k] = a[fmt.Sprintf("events.%d.%s", i, k)]
		}
	}
	return out, nil
}

// checkEvents asserts count, order (newest first, then id), uniqueness, and
// that every event satisfies match.
func checkEvents(addr string, want int, match func(map[string]string) error) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		evs, err := events(s, addr)
		if err != nil {
			return err
		}
		if want >= 0 && len(evs) != want {
			return fmt.Errorf("%s: %d events, want %d", addr, len(evs), want)
		}
		seen := map[string]bool{}
		var prev time.Time
		for i, ev := range evs {
			if seen[ev["id"]] {
				return fmt.Errorf("%s: event %s twice", addr, ev["id"])
			}
			seen[ev["id"]] = true
			t, err := time.Parse(time.RFC3339Nano, ev["time"])
			if err != nil {
				return err
			}
			if i > 0 && (t.After(prev) || (t.Equal(prev) && ev["id"] > evs[i-1]["id"])) {
				return fmt.Errorf("%s: events not newest first at %d", addr, i)
			}
			prev = t
			if match != nil {
				if err := match(ev); err != nil {
					return fmt.Errorf("%s: event %d: %w", addr, i, err)
				}
			}
		}
		return nil
	}
}

func TestAccAuditEventsDataSource_filters(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	ctx := context.Background()
	a := api.createToken(api.FleetID(), "a", nil)
	b := api.createToken(api.FleetID(), "b", nil)
	p := api.createToken("", "p", nil)
	for range 3 {
		if err := secretWorks(api.URL, a.RawToken); err != nil {
			t.Fatal(err)
		}
	}
	if err := api.admin.RevokeToken(ctx, api.FleetID(), b.ID); err != nil {
		t.Fatal(err)
	}
	if err := secretWorks(api.URL, b.RawToken); err == nil {
		t.Fatal("a revoked token worked")
	}
	mid := api.srv.Now()
	api.advance(time.Minute)
	if err := secretWorks(api.URL, p.RawToken); err != nil {
		t.Fatal(err)
	}
	is := func(key, value string) func(map[string]string) error {
		return func(ev map[string]string) error {
			if ev[key] != value {
				return fmt.Errorf("%s is %q, want %q", key, ev[key], value)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: api.config(fmt.Sprintf(`
data "cmdop_audit_events" "token_a" {
  token_id = %[1]q
}
data "cmdop_audit_events" "used_a" {
  token_id = %[1]q
  actions  = ["token.used"]
}
data "cmdop_audit_events" "actor_a" {
  actor_id = %[1]q
}
data "cmdop_audit_events" "fleet_issued" {
  fleet_id = %[2]q
  actions  = ["token.issued", "token.revoked"]
}
data "cmdop_audit_events" "auth_failed" {
  actions = ["auth.failed"]
}
data "cmdop_audit_events" "after_mid" {
  since   = %[3]q
  actions = ["token.used"]
  actor_id = %[4]q
}
data "cmdop_audit_events" "before_mid_for_p" {
  until    = %[3]q
  token_id = %[4]q
}
data "cmdop_audit_events" "none" {
  token_id = "00000000-0000-4000-8000-000000000000"
}
data "cmdop_audit_events" "two" {
  token_id    = %[1]q
  max_results = 2
}
data "cmdop_audit_events" "exact" {
  token_id    = %[1]q
  actions     = ["token.used"]
  max_results = 3
}`, a.ID, api.FleetID(), mid.Format(time.RFC3339Nano), p.ID)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.cmdop_audit_events.none", tfjsonpath.New("events"), knownvalue.ListSizeExact(0)),
				statecheck.ExpectKnownValue("data.cmdop_audit_events.none", tfjsonpath.New("latest_time"), knownvalue.Null()),
				statecheck.ExpectKnownValue("data.cmdop_audit_events.none", tfjsonpath.New("truncated"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue("data.cmdop_audit_events.two", tfjsonpath.New("truncated"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("data.cmdop_audit_events.exact", tfjsonpath.New("truncated"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue("data.cmdop_audit_events.token_a", tfjsonpath.New("max_results"), knownvalue.Int64Exact(100)),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				// issued + 3 uses
				checkEvents("data.cmdop_audit_events.token_a", 4, is("token_id", a.ID)),
				checkEvents("data.cmdop_audit_events.used_a", 3, is("action", "token.used")),
				checkEvents("data.cmdop_audit_events.actor_a", 3, is("actor_type", "api_token")),
				// a, b, p issued in the fleet? p is personal: a, b issued, b revoked
				checkEvents("data.cmdop_audit_events.fleet_issued", 3, is("fleet_id", api.FleetID())),
				checkEvents("data.cmdop_audit_events.auth_failed", 1, is("token_id", b.ID)),
				checkEvents("data.cmdop_audit_events.after_mid", 1, is("actor_id", p.ID)),
				checkEvents("data.cmdop_audit_events.before_mid_for_p", 1, is("action", "token.issued")),
				checkEvents("data.cmdop_audit_events.two", 2, nil),
				checkEvents("data.cmdop_audit_events.exact", 3, nil),
				resource.TestCheckResourceAttrPair("data.cmdop_audit_events.token_a", "latest_time", "data.cmdop_audit_events.token_a", "events.0.time"),
			),
		}},
	})
}

// busyToken is a token with n token.used events.
func busyToken(t *testing.T, api *testAPI, n int) *cmdopapi.Token {
	t.Helper()
	tok := api.createToken(api.FleetID(), "busy", nil)
	c := newClient(t, api.URL, tok.RawToken)
	for range n {
		if _, err := c.Account(context.Background()); err != nil { // each call logs a token.used
			t.Fatal(err)
		}
	}
	return tok
}

// More than 1000 events, read with max_results 2500, across pages.
func TestAccAuditEventsDataSource_paging(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	tok := busyToken(t, api, 2600)
	api.srv.ResetStats()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: api.config(fmt.Sprintf(`
data "cmdop_audit_events" "busy" {
  token_id    = %q
  actions     = ["token.used"]
  max_results = 2500
}`, tok.ID)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.cmdop_audit_events.busy", tfjsonpath.New("truncated"), knownvalue.Bool(true)),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkEvents("data.cmdop_audit_events.busy", 2500, func(ev map[string]string) error {
					if ev["token_id"] != tok.ID || ev["action"] != "token.used" {
						return fmt.Errorf("unexpected event %v", ev)
					}
					return nil
				}),
			),
		}},
	})
}

// One read of 2500 of more than 2600 events takes exactly 3 pages (1000 +
// 1000 + the rest), counted by the API. Through the CLI, where one apply
// reads the data source once (plugin-testing runs more plans).
func TestAccAuditEventsDataSource_pagesPerRead(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	tok := busyToken(t, api, 2600)
	run := newCLIRun(t, api, map[string]string{"main.tf": fmt.Sprintf(`
data "cmdop_audit_events" "busy" {
  token_id    = %q
  actions     = ["token.used"]
  max_results = 2500
}
output "n" {
  value = length(data.cmdop_audit_events.busy.events)
}`, tok.ID)})
	api.srv.ResetStats()
	run.must("apply", "-auto-approve", "-no-color")
	if pages := api.srv.Stats().ByRoute["GET /api/audit/events"]; pages != 3 {
		t.Errorf("one read of 2500 events took %d audit page requests, want 3", pages)
	}
	if n := strings.TrimSpace(run.must("output", "-raw", "n")); n != "2500" {
		t.Errorf("the read returned %s events, want 2500", n)
	}
}

func TestAccAuditEventsDataSource_invalid(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	cases := map[string]struct{ body, err string }{
		"since after until": {`since = "2026-02-01T00:00:00Z"
  until = "2026-01-01T00:00:00Z"`, `(?s)since.*is after until`},
		"unknown action":   {`actions = ["token.stolen"]`, `(?s)actions.*token\.issued`},
		"max_results zero": {`max_results = 0`, `(?s)max_results.*between 1 and 10000`},
		"max_results huge": {`max_results = 10001`, `(?s)max_results.*between 1 and 10000`},
		"bad since":        {`since = "yesterday"`, `(?s)RFC3339`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      api.config("data \"cmdop_audit_events\" \"x\" {\n  " + tc.body + "\n}"),
					ExpectError: regexp.MustCompile(tc.err),
				}},
			})
		})
	}
}

// A token that may not manage a fleet gets a clear 403 for its events.
func TestAccAuditEventsDataSource_permission(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	tok := api.createToken(api.FleetID(), "reader", []string{"machines:read"})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: api.providerWith(tok.RawToken, "") + fmt.Sprintf(`
data "cmdop_audit_events" "x" {
  fleet_id = %q
}`, api.FleetID()),
			ExpectError: regexp.MustCompile(`(?s)may not read these audit events.*permissions:manage`),
		}},
	})
}
