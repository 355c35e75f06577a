package provider_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// The lifetime an ephemeral token gets on top of its ttl.
const ephemeralMargin = time.Minute

// noStoredSecrets fails when a plan or a state (as `terraform show -json`
// renders it) holds a secret other than allowed, or any ephemeral resource.
type noStoredSecrets struct {
	allowed []string // the provider's own token, which the test configuration spells out
}

func (c noStoredSecrets) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	if req.Plan == nil {
		resp.Error = fmt.Errorf("no plan")
		return
	}
	// The configuration section legitimately describes the ephemeral
	// blocks; what Terraform keeps are the changes, values and states.
	stored := map[string]any{
		"resource_changes": req.Plan.ResourceChanges,
		"resource_drift":   req.Plan.ResourceDrift,
		"planned_values":   req.Plan.PlannedValues,
		"prior_state":      req.Plan.PriorState,
		"output_changes":   req.Plan.OutputChanges,
		"variables":        req.Plan.Variables,
	}
	resp.Error = checkStored("the plan", mustJSON(stored), c.allowed)
	if resp.Error == nil {
		// The whole rendering, configuration included, holds no secret.
		resp.Error = checkSecrets("the plan", mustJSON(req.Plan), c.allowed)
	}
}

func (c noStoredSecrets) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil {
		resp.Error = fmt.Errorf("no state")
		return
	}
	resp.Error = checkStored("the state", mustJSON(req.State), c.allowed)
}

// checkStored checks a JSON document for secrets and for ephemeral
// resources (an object whose mode is "ephemeral" or whose address starts
// with "ephemeral.").
func checkStored(what, doc string, allowed []string) error {
	if err := checkSecrets(what, doc, allowed); err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return fmt.Errorf("%s is not JSON: %w", what, err)
	}
	if addr, found := findEphemeral(v); found {
		return fmt.Errorf("%s holds the ephemeral resource %s", what, addr)
	}
	return nil
}

func checkSecrets(what, doc string, allowed []string) error {
	for _, m := range cmdopapi.SecretPattern.FindAllString(doc, -1) {
		if !slices.Contains(allowed, m) {
			return fmt.Errorf("%s holds a CMDOP secret (%s…)", what, m[:12])
		}
	}
	return nil
}

func findEphemeral(v any) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		addr, _ := v["address"].(string)
		if v["mode"] == "ephemeral" || strings.HasPrefix(addr, "ephemeral.") || strings.Contains(addr, ".ephemeral.") {
			return fmt.Sprint(addr, " (mode ", v["mode"], ")"), true
		}
		for _, e := range v {
			if addr, ok := findEphemeral(e); ok {
				return addr, true
			}
		}
	case []any:
		for _, e := range v {
			if addr, ok := findEphemeral(e); ok {
				return addr, true
			}
		}
	}
	return "", false
}

// tokensNamed lists a collection's tokens of one name, oldest first.
func (a *testAPI) tokensNamed(fleetID, name string) []cmdopapi.Token {
	a.t.Helper()
	all, err := a.admin.ListAllTokens(context.Background(), fleetID)
	if err != nil {
		a.t.Fatalf("listing tokens: %v", err)
	}
	var out []cmdopapi.Token
	for _, tok := range all {
		if tok.Name == name {
			out = append(out, tok)
		}
	}
	return out
}

// checkEphemeralTokens checks the tokens an ephemeral resource issued: at
// least (or, with exact, exactly) want of them, each issued, used by the
// aliased provider (all of them, or with anyUsed at least one), revoked
// unless stillOpen allows one active token, and each living ttl plus the
// margin.
type ephemeralExpect struct {
	fleetID, name string
	want          int
	exact         bool
	anyUsed       bool
	ttl           time.Duration
}

func (a *testAPI) checkEphemeralTokens(e ephemeralExpect) ([]cmdopapi.Token, error) {
	toks := a.tokensNamed(e.fleetID, e.name)
	switch {
	case e.exact && len(toks) != e.want:
		return toks, fmt.Errorf("%d tokens named %q were issued, want %d", len(toks), e.name, e.want)
	case len(toks) < e.want:
		return toks, fmt.Errorf("%d tokens named %q were issued, want at least %d", len(toks), e.name, e.want)
	}
	used := 0
	for _, tok := range toks {
		if tok.Status != cmdopapi.StatusRevoked {
			return toks, fmt.Errorf("token %s (%q) is %s after the run, want revoked", tok.ID, e.name, tok.Status)
		}
		if _, err := firstEvent(a, cmdopapi.ActionTokenIssued, tok.ID); err != nil {
			return toks, err
		}
		if _, err := firstEvent(a, cmdopapi.ActionTokenRevoked, tok.ID); err != nil {
			return toks, err
		}
		if _, err := firstEvent(a, cmdopapi.ActionTokenUsed, tok.ID); err == nil {
			used++
		} else if !e.anyUsed {
			return toks, fmt.Errorf("the aliased provider never used token %s: %w", tok.ID, err)
		}
		if tok.ExpiresAt == nil {
			return toks, fmt.Errorf("token %s never expires", tok.ID)
		}
		// ServerNow + ttl + margin, truncated to the second, against the
		// server's created_at.
		if life := tok.ExpiresAt.Sub(tok.CreatedAt); life < e.ttl+ephemeralMargin-5*time.Second || life > e.ttl+ephemeralMargin+time.Second {
			return toks, fmt.Errorf("token %s lives %s, want its ttl %s plus %s", tok.ID, life, e.ttl, ephemeralMargin)
		}
	}
	if used == 0 {
		return toks, fmt.Errorf("no token named %q was used by the aliased provider", e.name)
	}
	return toks, nil
}

// An ephemeral personal token configures an aliased provider that reads a
// data source; neither plan nor state keeps a secret or the ephemeral
// resource, and every token the run issued is revoked at its end.
func TestAccEphemeralPersonalToken_providerAlias(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	name := "eph-personal-alias"
	stored := noStoredSecrets{allowed: []string{api.secret}}
	expect := ephemeralExpect{name: name, want: 1, anyUsed: true, ttl: 2 * time.Hour}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   ephemeralVersionChecks,
		Steps: []resource.TestStep{{
			Config: api.config(fmt.Sprintf(`
ephemeral "cmdop_personal_token" "x" {
  name   = %q
  scopes = ["permissions:manage", "machines:read"] # listing tokens needs permissions:manage
  ttl    = "2h"
}

provider "cmdop" {
  alias        = "eph"
  api_base_url = %q
  token        = ephemeral.cmdop_personal_token.x.secret
}

data "cmdop_personal_tokens" "via_eph" {
  provider    = cmdop.eph
  name_prefix = %q
}
`, name, api.URL, name)),
			ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{stored}},
			ConfigStateChecks: []statecheck.StateCheck{stored},
			Check: func(s *terraform.State) error {
				// The data source, read with the ephemeral token, saw that
				// token, active, under its name.
				a, err := attrs(s, "data.cmdop_personal_tokens.via_eph")
				if err != nil {
					return err
				}
				if n, _ := strconv.Atoi(a["tokens.#"]); n < 1 {
					return fmt.Errorf("the data source read through the ephemeral token listed %s tokens", a["tokens.#"])
				}
				if a["tokens.0.name"] != name {
					return fmt.Errorf("the data source listed %q, want %q", a["tokens.0.name"], name)
				}
				// Every token issued so far is closed, and was used. (An apply
				// that has nothing to do needs no provider, so it may open
				// no ephemeral resource: TestAccEphemeralTokens_neverStored
				// counts the tokens of a plan and an apply exactly.)
				_, err = api.checkEphemeralTokens(expect)
				return err
			},
		}},
		CheckDestroy: func(*terraform.State) error {
			toks, err := api.checkEphemeralTokens(expect)
			t.Logf("%d tokens named %q issued over the test", len(toks), name)
			return err
		},
	})
}

// The fleet kind: the fleet comes from the provider, and the aliased
// provider reads the fleet's tokens, which takes permissions:manage.
func TestAccEphemeralFleetToken_providerAlias(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	name := "eph-fleet-alias"
	stored := noStoredSecrets{allowed: []string{api.secret}}
	expect := ephemeralExpect{fleetID: api.FleetID(), name: name, want: 1, anyUsed: true, ttl: time.Hour}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   ephemeralVersionChecks,
		Steps: []resource.TestStep{{
			Config: api.config(fmt.Sprintf(`
ephemeral "cmdop_fleet_token" "x" {
  name   = %q
  scopes = ["permissions:manage", "machines:read"]
}

provider "cmdop" {
  alias        = "eph"
  api_base_url = %q
  token        = ephemeral.cmdop_fleet_token.x.secret
  fleet_id     = %q
}

data "cmdop_fleet_tokens" "via_eph" {
  provider    = cmdop.eph
  name_prefix = %q
  status      = "active"
}
`, name, api.URL, api.FleetID(), name)),
			ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{stored}},
			ConfigStateChecks: []statecheck.StateCheck{stored},
			Check: func(s *terraform.State) error {
				a, err := attrs(s, "data.cmdop_fleet_tokens.via_eph")
				if err != nil {
					return err
				}
				if a["tokens.#"] != "1" || a["tokens.0.fleet_id"] != api.FleetID() {
					return fmt.Errorf("the data source read through the ephemeral token listed %s active tokens (fleet %q), want itself alone",
						a["tokens.#"], a["tokens.0.fleet_id"])
				}
				_, err = api.checkEphemeralTokens(expect)
				return err
			},
		}},
		CheckDestroy: func(*terraform.State) error {
			toks, err := api.checkEphemeralTokens(expect)
			t.Logf("%d tokens named %q issued over the test", len(toks), name)
			return err
		},
	})
}

// With the API server's clock hours ahead of the local one, the first
// create (its expiry computed from the local clock) is refused as too soon;
// Open asks again against the server's clock, which the refusal revealed,
// and the token still lives its ttl plus the margin by the server's clock.
func TestAccEphemeralPersonalToken_serverClockAhead(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	if _, err := api.srv.AdvanceClock(3 * time.Hour); err != nil {
		t.Fatal(err)
	}
	name := "eph-skewed"
	expect := ephemeralExpect{name: name, want: 1, anyUsed: true, ttl: time.Hour}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   ephemeralVersionChecks,
		Steps: []resource.TestStep{{
			Config: api.config(fmt.Sprintf(`
ephemeral "cmdop_personal_token" "x" {
  name   = %q
  scopes = ["permissions:manage", "machines:read"] # listing tokens needs permissions:manage
}

provider "cmdop" {
  alias        = "eph"
  api_base_url = %q
  token        = ephemeral.cmdop_personal_token.x.secret
}

data "cmdop_personal_tokens" "via_eph" {
  provider    = cmdop.eph
  name_prefix = %q
}
`, name, api.URL, name)),
			Check: func(*terraform.State) error {
				toks, err := api.checkEphemeralTokens(expect)
				if err != nil {
					return err
				}
				// The API's view: each open's first create was refused (422,
				// its expiry too soon by the server's clock), then asked again.
				st := api.srv.Stats()
				refused, creates := st.ByStatus["422"], st.ByRoute["POST /api/account/api-tokens"]
				if refused < 1 || refused > len(toks) || creates != len(toks)+refused {
					return fmt.Errorf("the API answered %d of %d creates with 422 and issued %d tokens; want each open's first create refused, then one issued",
						refused, creates, len(toks))
				}
				return nil
			},
		}},
	})
}

// Invalid configurations fail at validate or plan time, naming the argument.
func TestAccEphemeralToken_invalidConfig(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	noFleet := fmt.Sprintf("provider \"cmdop\" {\n  api_base_url = %q\n  token        = %q\n}\n", api.URL, api.secret)
	cases := []struct {
		name, config string
		want         []string // in this order, however the CLI wraps lines
	}{
		{"ttl too short", api.config(`
ephemeral "cmdop_personal_token" "x" {
  name   = "short"
  scopes = ["machines:read"]
  ttl    = "30m"
}`), []string{"Invalid ephemeral token ttl", `ttl: "30m" is outside the allowed range`, "1h to 24h"}},
		{"ttl too long", api.config(`
ephemeral "cmdop_fleet_token" "x" {
  name   = "long"
  scopes = ["machines:read"]
  ttl    = "2d"
}`), []string{"Invalid ephemeral token ttl", `ttl: "2d" is outside the allowed range`}},
		{"ttl not a duration", api.config(`
ephemeral "cmdop_personal_token" "x" {
  name   = "garbled"
  scopes = ["machines:read"]
  ttl    = "soon"
}`), []string{"Invalid ephemeral token ttl", `ttl: "soon" is not a valid duration`}},
		{"no scopes", api.config(`
ephemeral "cmdop_personal_token" "x" {
  name   = "none"
  scopes = []
}`), []string{"scopes", "at least 1"}},
		{"unknown scope", api.config(`
ephemeral "cmdop_personal_token" "x" {
  name   = "bad"
  scopes = ["machines:fly"]
}`), []string{"scopes", "must be one of", "machines:read"}},
		{"empty name", api.config(`
ephemeral "cmdop_fleet_token" "x" {
  name   = ""
  scopes = ["machines:read"]
}`), []string{"name", "length must be between 1 and 100"}},
		{"fleet_id on a personal token", api.config(`
ephemeral "cmdop_personal_token" "x" {
  fleet_id = "f"
  name     = "x"
  scopes   = ["machines:read"]
}`), []string{`An argument named "fleet_id" is not expected here`}},
		{"no fleet anywhere", noFleet + `
ephemeral "cmdop_fleet_token" "x" {
  name   = "nofleet"
  scopes = ["machines:read"]
}`, []string{"Missing fleet ID", "Set fleet_id on the ephemeral resource, or fleet_id on the provider"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				TerraformVersionChecks:   ephemeralVersionChecks,
				Steps: []resource.TestStep{{
					Config:      tc.config,
					PlanOnly:    true,
					ExpectError: phrases(tc.want...),
				}},
			})
		})
	}
	if n := api.writes(); n != 0 {
		t.Fatalf("invalid configurations made %d write calls, want none", n)
	}
}

// Through the real CLI, on the files it writes: the saved plan and the state
// file hold no secret and no ephemeral resource; `plan -out` issues one
// token of each kind and `apply` of that plan one more, and every one of
// them is used by its aliased provider (once by a data source read at plan
// time, once by one deferred to apply) and revoked when the command ends.
func TestAccEphemeralTokens_neverStored(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t) // skips unless TF_ACC is set
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		t.Skip("TF_ACC_TERRAFORM_PATH is not set; run through make test")
	}
	if !cliAtLeast(t, 10) {
		t.Skip("ephemeral resources need Terraform 1.10 or later (or OpenTofu 1.11 or later)")
	}
	// Positive control: the pattern does match a real secret.
	if control := api.createToken("", "control", nil); !cmdopapi.SecretPattern.MatchString(control.RawToken) {
		t.Fatalf("the secret pattern does not match a secret cmdop-local issued")
	}
	run := newCLIRun(t, api, map[string]string{
		// The full source address: "cmdop/cmdop" means registry.opentofu.org
		// under OpenTofu, which the dev_overrides would not match.
		"versions.tf": "terraform {\n  required_providers {\n    cmdop = { source = \"registry.terraform.io/cmdop/cmdop\" }\n  }\n}\n",
		"main.tf": `
ephemeral "cmdop_personal_token" "x" {
  name   = "eph-personal-run"
  scopes = ["permissions:manage", "machines:read"] # listing tokens needs permissions:manage
}

ephemeral "cmdop_fleet_token" "x" {
  name   = "eph-fleet-run"
  scopes = ["permissions:manage", "machines:read"]
  ttl    = "3h"
}

provider "cmdop" {
  alias = "personal"
  token = ephemeral.cmdop_personal_token.x.secret
}

provider "cmdop" {
  alias = "fleet"
  token = ephemeral.cmdop_fleet_token.x.secret
}

resource "terraform_data" "tick" {
  input = "run"
}

# Read during plan, with the tokens opened for the plan.
data "cmdop_personal_tokens" "at_plan" {
  provider    = cmdop.personal
  name_prefix = "eph-"
}

data "cmdop_fleet_tokens" "at_plan" {
  provider    = cmdop.fleet
  name_prefix = "eph-"
}

# Deferred to apply by the pending change they depend on, so read with the
# tokens opened for the apply.
data "cmdop_personal_tokens" "at_apply" {
  provider    = cmdop.personal
  name_prefix = "eph-"
  depends_on  = [terraform_data.tick]
}

data "cmdop_fleet_tokens" "at_apply" {
  provider    = cmdop.fleet
  name_prefix = "eph-"
  depends_on  = [terraform_data.tick]
}

output "seen_at_apply" {
  value = length(data.cmdop_fleet_tokens.at_apply.tokens) + length(data.cmdop_personal_tokens.at_apply.tokens)
}
`,
	})
	personal := ephemeralExpect{name: "eph-personal-run", exact: true, ttl: time.Hour}
	fleet := ephemeralExpect{fleetID: api.FleetID(), name: "eph-fleet-run", exact: true, ttl: 3 * time.Hour}
	check := func(when string, e ephemeralExpect) {
		t.Helper()
		if _, err := api.checkEphemeralTokens(e); err != nil {
			t.Fatalf("after %s: %v", when, err)
		}
	}
	noSecretIn := func(what, out string) {
		t.Helper()
		if err := checkSecrets(what, out, nil); err != nil {
			t.Fatal(err)
		}
	}

	out := run.must("plan", "-no-color", "-out=tfplan")
	noSecretIn("the plan output", out)
	personal.want, fleet.want = 1, 1
	check("plan", personal)
	check("plan", fleet)

	// Every file inside the saved plan (a zip: the plan, the prior state,
	// the configuration, the lock file), uncompressed.
	zr, err := zip.OpenReader(filepath.Join(run.dir, "tfplan"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		noSecretIn("the saved plan's "+f.Name, string(b))
	}
	_ = zr.Close()
	planJSON := run.must("show", "-json", "tfplan")
	var plan map[string]json.RawMessage
	if err := json.Unmarshal([]byte(planJSON), &plan); err != nil {
		t.Fatalf("show -json tfplan: %v\n%s", err, planJSON)
	}
	for _, part := range []string{"resource_changes", "resource_drift", "planned_values", "prior_state", "output_changes"} {
		if err := checkStored("the plan's "+part, string(orNull(plan[part])), nil); err != nil {
			t.Fatal(err)
		}
	}
	noSecretIn("the rendered plan", planJSON)

	out = run.must("apply", "-no-color", "tfplan")
	noSecretIn("the apply output", out)
	personal.want, fleet.want = 2, 2
	check("apply", personal)
	check("apply", fleet)

	raw, err := os.ReadFile(filepath.Join(run.dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkStored("the state file", string(raw), nil); err != nil {
		t.Fatal(err)
	}
	var state struct {
		Resources []struct {
			Mode, Type, Name string
		} `json:"resources"`
		Outputs map[string]struct {
			Value json.Number `json:"value"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, r := range state.Resources {
		kept = append(kept, r.Mode+"."+r.Type+"."+r.Name)
	}
	slices.Sort(kept)
	want := []string{
		"data.cmdop_fleet_tokens.at_apply", "data.cmdop_fleet_tokens.at_plan",
		"data.cmdop_personal_tokens.at_apply", "data.cmdop_personal_tokens.at_plan",
		"managed.terraform_data.tick",
	}
	if !slices.Equal(kept, want) {
		t.Fatalf("the state holds %v, want %v", kept, want)
	}
	// The deferred reads ran with the apply's tokens: they saw both of their
	// kind, the plan's revoked and the apply's active.
	if got := state.Outputs["seen_at_apply"].Value; got != "4" {
		t.Fatalf("the data sources read at apply saw %s tokens, want 4", got)
	}
	noSecretIn("the rendered state", run.must("show", "-json"))

	// Destroy opens the tokens again (its plan and its apply), and closes them.
	out = run.must("destroy", "-auto-approve", "-no-color")
	noSecretIn("the destroy output", out)
	personal.exact, fleet.exact = false, false
	personal.anyUsed, fleet.anyUsed = true, true
	check("destroy", personal)
	check("destroy", fleet)
	t.Logf("tokens issued over plan, apply and destroy: %d personal, %d fleet",
		len(api.tokensNamed("", personal.name)), len(api.tokensNamed(api.FleetID(), fleet.name)))
}

func orNull(b json.RawMessage) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return b
}

// An ephemeral token feeding an aliased provider lives an hour: the token
// that provider would issue, never to expire, is refused at plan, naming
// the ephemeral token's expiry, and nothing but the ephemeral tokens is issued.
func TestAccEphemeralFleetToken_childCannotOutliveIt(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		TerraformVersionChecks:   ephemeralVersionChecks,
		Steps: []resource.TestStep{{
			Config: api.config(fmt.Sprintf(`
ephemeral "cmdop_fleet_token" "x" {
  name   = "eph-issuer"
  scopes = ["permissions:manage", "machines:read"]
  ttl    = "1h"
}

provider "cmdop" {
  alias        = "eph"
  api_base_url = %q
  token        = ephemeral.cmdop_fleet_token.x.secret
  fleet_id     = %q
}

resource "cmdop_fleet_token" "child" {
  provider = cmdop.eph
  name     = "eph-child"
  scopes   = ["machines:read"]
  expiry   = "never"
}
`, api.URL, api.FleetID())),
			ExpectError: regexp.MustCompile(`(?s)Token would outlive the provider's token.*Your token expires at`),
		}},
	})
	all, err := api.admin.ListAllTokens(context.Background(), api.FleetID())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range all {
		if tok.Name == "eph-child" {
			t.Fatalf("the child token was issued: %+v", tok)
		}
	}
}
