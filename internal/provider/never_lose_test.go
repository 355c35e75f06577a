package provider_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// The provider never forgets a live token: ordinary mistakes in its
// settings fail the command with an error that names the cause and the
// fix, and leave the state, and every token on the API, as they were.

const twoTokens = `
resource "cmdop_fleet_token" "f" {
  name   = "fleet"
  scopes = ["machines:read"]
}
resource "cmdop_personal_token" "p" {
  name   = "personal"
  scopes = ["machines:read"]
}
`

// liveTokens is the IDs of the active tokens named "fleet" and "personal".
func liveTokens(t *testing.T, api *testAPI) []string {
	t.Helper()
	var ids []string
	for _, fleet := range []string{api.FleetID(), ""} {
		for id, tok := range api.activeTokens(fleet) {
			if tok.Name == "fleet" || tok.Name == "personal" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// unchanged checks that the state still holds both tokens, that a plan
// with the right settings is empty, and that both tokens are still active.
func unchanged(t *testing.T, run *cliRun, api *testAPI, want []string) {
	t.Helper()
	list := run.must("state", "list")
	for _, addr := range []string{"cmdop_fleet_token.f", "cmdop_personal_token.p"} {
		if !strings.Contains(list, addr) {
			t.Fatalf("%s left the state:\n%s", addr, list)
		}
	}
	expectContains(t, run.must("plan", "-no-color"), "No changes.")
	if got := liveTokens(t, api); len(got) != len(want) {
		t.Fatalf("active tokens %v, want %v", got, want)
	}
}

func TestAccNeverLose_wrongSettings(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	other := newTestAPI(t) // another cmdop-local, loaded by mistake
	run := newCLIRun(t, api, map[string]string{"main.tf": twoTokens})
	run.must("apply", "-auto-approve", "-no-color")
	live := liveTokens(t, api)
	if len(live) != 2 {
		t.Fatalf("want 2 live tokens after apply, got %v", live)
	}
	owner := api.srv.OwnerUserID()
	colleague, _, colleagueSecret, err := api.srv.AddMember(api.FleetID(), "admin", "colleague")
	if err != nil {
		t.Fatal(err)
	}
	writes := api.writes()

	cases := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"base URL with a version path", []string{"CMDOP_API_BASE_URL=" + api.URL + "/v1"}, []string{"plan", "-no-color"},
			[]string{"has no such route", "without /api or a version path", "Nothing was removed from the state"}},
		{"another cmdop-local's settings",
			[]string{"CMDOP_API_BASE_URL=" + other.URL, "CMDOP_TOKEN=" + other.secret, "CMDOP_FLEET_ID=" + other.FleetID()},
			[]string{"apply", "-auto-approve", "-no-color"},
			[]string{`does not have fleet "` + api.FleetID() + `"`, "belongs to user " + owner + "; the provider is authenticated as user " + other.srv.OwnerUserID()}},
		{"a colleague's token, plan", []string{"CMDOP_TOKEN=" + colleagueSecret}, []string{"plan", "-no-color"},
			[]string{"belongs to user " + owner + "; the provider is authenticated as user " + colleague, "terraform state rm"}},
		{"a colleague's token, plan without refresh", []string{"CMDOP_TOKEN=" + colleagueSecret}, []string{"plan", "-refresh=false", "-no-color"},
			[]string{"belongs to user " + owner}},
		{"a colleague's token, destroy", []string{"CMDOP_TOKEN=" + colleagueSecret}, []string{"destroy", "-auto-approve", "-no-color"},
			[]string{"belongs to user " + owner}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run.runEnv(tc.env, tc.args...)
			if err == nil {
				t.Fatalf("terraform %s succeeded:\n%s", strings.Join(tc.args, " "), out)
			}
			expectContains(t, out, tc.want...)
			unchanged(t, run, api, live)
		})
	}
	if w := api.writes(); w != writes {
		t.Errorf("the mistakes made %d write calls to the API, want 0", w-writes)
	}
	if n := len(other.activeTokens(other.FleetID())) + len(other.activeTokens("")); n != 1 {
		t.Errorf("the other cmdop-local has %d active tokens, want only its admin's", n)
	}
	run.must("destroy", "-auto-approve", "-no-color")
	if got := liveTokens(t, api); len(got) != 0 {
		t.Fatalf("after destroy, active tokens %v", got)
	}
}

// A token pasted into the base URL setting is never printed: not in the
// error, not in the TRACE log.
func TestAccNeverLose_tokenInBaseURLIsMasked(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := newCLIRun(t, api, map[string]string{"main.tf": twoTokens})
	run.withTraceLog()
	for _, url := range []string{api.secret, "https://" + api.secret, "http://" + api.secret + ".example.com"} {
		out, err := run.runEnv([]string{"CMDOP_API_BASE_URL=" + url}, "plan", "-no-color")
		if err == nil {
			t.Fatalf("a plan with the token as the base URL succeeded:\n%s", out)
		}
		expectContains(t, out, "api_base_url")
		logs, _ := os.ReadFile(run.log)
		if len(logs) == 0 {
			t.Fatal("no TRACE log was written: the test would prove nothing")
		}
		for name, text := range map[string]string{"output": out, "TRACE log": string(logs)} {
			if strings.Contains(text, api.secret) || cmdopapi.SecretPattern.MatchString(text) {
				t.Errorf("with api_base_url %s…, the %s shows the token", url[:8], name)
			}
		}
	}
}

// A member who leaves takes their personal tokens with them. The team's
// admin token cannot see them, so the provider refuses to guess: it names
// the owner and says to run terraform state rm, which then lets the next
// apply issue a new token under the admin. A fleet token the member issued
// survives.
func TestAccNeverLose_memberLeaves(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	memberID, _, memberSecret, err := api.srv.AddMember(api.FleetID(), "admin", "alice")
	if err != nil {
		t.Fatal(err)
	}
	run := newCLIRun(t, api, map[string]string{"main.tf": twoTokens})
	asAlice := []string{"CMDOP_TOKEN=" + memberSecret}
	if out, err := run.runEnv(asAlice, "apply", "-auto-approve", "-no-color"); err != nil {
		t.Fatalf("apply as alice: %v\n%s", err, out)
	}
	if err := api.srv.RemoveMember(memberID); err != nil {
		t.Fatal(err)
	}
	out, err := run.run("plan", "-no-color")
	if err == nil {
		t.Fatalf("a plan with the admin's token acted on alice's personal token:\n%s", out)
	}
	expectContains(t, out, "belongs to user "+memberID, "terraform state rm")
	run.must("state", "rm", "cmdop_personal_token.p")
	out = run.must("apply", "-auto-approve", "-no-color")
	expectContains(t, out, "1 added, 0 changed, 0 destroyed")
	if n := len(liveTokens(t, api)); n != 2 {
		t.Fatalf("want alice's fleet token and the admin's new personal token active, got %d", n)
	}
	run.must("destroy", "-auto-approve", "-no-color")
}

// A placeholder left by an ambiguous create, whose fleet is then deleted,
// is nothing to revoke: destroy removes it with a warning that says so.
// Through the CLI, which prints the warning (plugin-testing drops it).
func TestAccNeverLose_placeholderWhoseFleetIsGone(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	fleet, err := api.srv.AddFleet("short-lived")
	if err != nil {
		t.Fatal(err)
	}
	run := newCLIRun(t, api, map[string]string{"main.tf": `
provider "cmdop" {
  max_retries = 0
}
resource "cmdop_fleet_token" "t" {
  fleet_id = "short-lived"
  name     = "ambiguous"
  scopes   = ["machines:read"]
}`})
	// Every call fails: the create's 503 may have followed an attempt that
	// went through, so it leaves a placeholder.
	api.setFaults(cmdoplocal.FaultConfig{FailRate: 1, Modes: []string{"unavailable"}})
	out, err := run.run("apply", "-auto-approve", "-no-color")
	if err == nil {
		t.Fatalf("the apply against a failing API succeeded:\n%s", out)
	}
	expectContains(t, out, `Error creating fleet token "ambiguous"`)
	if got := run.must("state", "list"); !strings.Contains(got, "cmdop_fleet_token.t") {
		t.Fatalf("the failed create left no placeholder in the state: %q", got)
	}
	api.setFaults(cmdoplocal.FaultConfig{})
	if err := api.srv.RemoveFleet(fleet); err != nil {
		t.Fatal(err)
	}
	// The resource leaves the configuration, so the apply destroys it.
	// (terraform destroy fails here instead: its refresh plans the tainted
	// placeholder's replacement, whose fleet check finds no fleet.)
	if err := os.WriteFile(filepath.Join(run.dir, "main.tf"), []byte("provider \"cmdop\" {\n  max_retries = 0\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = run.must("apply", "-auto-approve", "-no-color")
	expectContains(t, out, `Warning: Nothing to revoke for the failed create of the fleet token "ambiguous"`,
		"so that create issued none", "was removed from the state", "0 added, 0 changed, 1 destroyed")
	if got := strings.TrimSpace(run.must("state", "list")); got != "" {
		t.Errorf("the placeholder is still in the state: %q", got)
	}
}

// An imported token whose configured expiry names the same instant in
// another form (an offset, a fraction) is not replaced.
func TestAccNeverLose_importWithExpiryInAnotherForm(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	at := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
	ctx := context.Background()
	mk := func(name string) *cmdopapi.Token {
		tok, err := api.admin.CreateToken(ctx, api.FleetID(), cmdopapi.CreateTokenRequest{Name: name, Scopes: []string{"machines:read"}, ExpiresAt: &at}, "")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	offset, fraction := mk("offset"), mk("fraction")
	plus5 := at.In(time.FixedZone("", 5*3600)).Format(time.RFC3339)
	frac := at.Format("2006-01-02T15:04:05.000Z07:00")
	run := newCLIRun(t, api, map[string]string{"main.tf": `
import {
  to = cmdop_fleet_token.offset
  id = "` + api.FleetID() + "/" + offset.ID + `"
}
import {
  to = cmdop_fleet_token.fraction
  id = "` + api.FleetID() + "/" + fraction.ID + `"
}
resource "cmdop_fleet_token" "offset" {
  name   = "offset"
  scopes = ["machines:read"]
  expiry = "` + plus5 + `"
}
resource "cmdop_fleet_token" "fraction" {
  name   = "fraction"
  scopes = ["machines:read"]
  expiry = "` + frac + `"
}
`})
	out := run.must("plan", "-no-color")
	expectContains(t, out, "2 to import, 0 to add, 2 to change, 0 to destroy")
	if strings.Contains(out, "must be replaced") {
		t.Fatalf("the plan replaces an imported token:\n%s", out)
	}
	run.must("apply", "-auto-approve", "-no-color")
	expectContains(t, run.must("plan", "-no-color"), "No changes.")
	for _, tok := range []*cmdopapi.Token{offset, fraction} {
		if got := api.token(api.FleetID(), tok.ID); got.Status != cmdopapi.StatusActive {
			t.Errorf("imported token %s is %s", tok.Name, got.Status)
		}
	}
}

// A fleet ID with a reserved character reaches its fleet: the path
// parameter is escaped exactly once.
func TestAccNeverLose_fleetIDWithReservedCharacter(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	const fleet = "team%42"
	if _, err := api.srv.AddFleet(fleet); err != nil {
		t.Fatal(err)
	}
	config := api.config(`
resource "cmdop_fleet_token" "t" {
  fleet_id = "team%42"
  name     = "escaped"
  scopes   = ["machines:read"]
}`)
	var id string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if got := api.token(fleet, id); got.Status != cmdopapi.StatusRevoked {
				t.Errorf("after destroy the token is %s", got.Status)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("cmdop_fleet_token.t", "fleet_id", fleet),
					capture("cmdop_fleet_token.t", "id", &id),
					func(*terraform.State) error {
						if got := api.token(fleet, id); got.FleetID != fleet || got.Status != cmdopapi.StatusActive {
							t.Errorf("the API has %+v", got)
						}
						return nil
					},
				),
			},
			{
				ResourceName:            "cmdop_fleet_token.t",
				ImportState:             true,
				ImportStateIdFunc:       func(*terraform.State) (string, error) { return fleet + "/" + id, nil },
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"secret", "expiry", "revoke_grace_period", "last_used_at"},
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_fleet_token.t", plancheck.ResourceActionNoop),
				}},
			},
		},
	})
}
