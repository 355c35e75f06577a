package provider_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// The token policy, through the real CLI: every rule from the provider's
// block and from the platform team's file, their stricter-wins merge, the
// per-kind rules, the ephemeral rules, the existing-token warning, and a
// compliant configuration that plans exactly as without a policy. Every
// refused plan writes nothing to the API.

// policyRun is a CLI working directory whose provider reads the policy
// file at policyFile (when not "").
func policyRun(t *testing.T, api *testAPI, policyFile, main string) *cliRun {
	t.Helper()
	run := newCLIRun(t, api, map[string]string{"main.tf": main})
	if policyFile != "" {
		run.env = append(run.env, "CMDOP_TOKEN_POLICY_FILE="+policyFile)
	}
	return run
}

// writePolicyFile writes a policy file into a temporary directory.
func writePolicyFile(t *testing.T, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token-policy.json")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// noWrites fails the test if the API has received a write since before.
func noWrites(t *testing.T, api *testAPI, before int, what string) {
	t.Helper()
	if w := api.writes() - before; w != 0 {
		t.Fatalf("%s made %d write calls to the API, want 0", what, w)
	}
}

// fleetToken is a fleet token resource block; args override the defaults,
// which meet every rule of the tests' policies.
func fleetToken(label string, args ...string) string {
	return tokenBlock("cmdop_fleet_token", label, args...)
}

func personalToken(label string, args ...string) string {
	return tokenBlock("cmdop_personal_token", label, args...)
}

func tokenBlock(typ, label string, args ...string) string {
	set := map[string]string{
		"name":              fmt.Sprintf("%q", "ci-"+strings.ReplaceAll(label, "_", "-")+"-prod"),
		"scopes":            `["machines:read"]`,
		"expiry":            `"30d"`,
		"rotation_triggers": `{ v = "1" }`,
	}
	order := []string{"name", "scopes", "expiry", "rotation_triggers"}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, ok := set[k]; !ok {
			order = append(order, k)
		}
		set[k] = v
	}
	var b strings.Builder
	fmt.Fprintf(&b, "resource %q %q {\n", typ, label)
	for _, k := range order {
		if v := set[k]; v != "-" {
			fmt.Fprintf(&b, "  %s = %s\n", k, v)
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// violation is what one refused resource's error must say.
type violation struct {
	addr, rule, source, attribute, allowed string
}

// expectViolations checks that a refused plan has exactly one error per
// violation, each naming the rule, its source, the attribute and the
// allowed value, on the resource that breaks it.
func expectViolations(t *testing.T, out string, want []violation) {
	t.Helper()
	flat := strings.Join(strings.Fields(out), " ")
	if n := strings.Count(out, "Error: "); n != len(want) {
		t.Fatalf("the plan printed %d errors, want %d:\n%s", n, len(want), out)
	}
	blocks := strings.Split(flat, "Error: ")[1:]
	for _, v := range want {
		found := false
		for _, b := range blocks {
			if strings.Contains(b, "breaks the token policy's "+v.rule+" rule") &&
				strings.Contains(b, "with "+v.addr+",") &&
				strings.Contains(b, "("+v.source) &&
				strings.Contains(b, "but "+v.attribute+" is") &&
				strings.Contains(b, "allows "+v.allowed) &&
				strings.Contains(b, "nothing was written to the API") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no error for %s naming rule %s, source %q, attribute %s and allowed value %q in:\n%s",
				v.addr, v.rule, v.source, v.attribute, v.allowed, out)
		}
	}
}

// eachRuleConfig has one resource per rule, each breaking that rule only,
// and one that meets them all. The rules: max_expiry "90d" (two
// resources: a preset and "never"), require_rotation, allowed_scopes,
// forbidden_scopes, name_pattern, max_grace_period "24h".
const eachRuleTokens = `
%s
%s
%s
%s
%s
%s
%s
%s
`

func eachRuleResources() string {
	return fmt.Sprintf(eachRuleTokens,
		fleetToken("expiry", `expiry = "1y"`),
		fleetToken("never", `expiry = "never"`),
		fleetToken("rotation", `rotation_triggers = -`),
		fleetToken("allowed", `scopes = ["machines:read", "machines:write"]`),
		fleetToken("forbidden", `scopes = ["machines:read", "files:write"]`),
		fleetToken("name", `name = "prod-deploy"`),
		fleetToken("grace", `revoke_grace_period = "48h"`),
		fleetToken("ok", `expiry = "90d"`, `revoke_grace_period = "24h"`, `rotation_triggers = -`, `rotate_before = "7d"`),
	)
}

func eachRuleViolations(source func(rule string) string) []violation {
	return []violation{
		{"cmdop_fleet_token.expiry", "max_expiry", source("max_expiry"), "expiry", `a lifetime of at most "90d" (90 days)`},
		{"cmdop_fleet_token.never", "max_expiry", source("max_expiry"), "expiry", `a lifetime of at most "90d"`},
		{"cmdop_fleet_token.rotation", "require_rotation", source("require_rotation"), "rotate_before", "only tokens that rotate"},
		{"cmdop_fleet_token.allowed", "allowed_scopes", source("allowed_scopes"), "scopes", `only the scopes ["files:read", "files:write", "machines:read"]`},
		{"cmdop_fleet_token.forbidden", "forbidden_scopes", source("forbidden_scopes"), "scopes", `any scope except ["files:write"]`},
		{"cmdop_fleet_token.name", "name_pattern", source("name_pattern"), "name", `only names that match "^(ci|svc|dev)-[a-z0-9-]+$"`},
		{"cmdop_fleet_token.grace", "max_grace_period", source("max_grace_period"), "revoke_grace_period", `a grace period of at most "24h"`},
	}
}

const eachRuleHCL = `
  token_policy {
    max_expiry       = "90d"
    require_rotation = true
    allowed_scopes   = ["machines:read", "files:read", "files:write"]
    forbidden_scopes = ["files:write"]
    name_pattern     = "^(ci|svc|dev)-[a-z0-9-]+$"
    max_grace_period = "24h"
  }
`

const eachRuleJSON = `{
  "max_expiry": "90d",
  "require_rotation": true,
  "allowed_scopes": ["machines:read", "files:read", "files:write"],
  "forbidden_scopes": ["files:write"],
  "name_pattern": "^(ci|svc|dev)-[a-z0-9-]+$",
  "max_grace_period": "24h"
}`

// Each rule from the provider block stops the plan of the token that
// breaks it, with an error that names the rule, the block, the attribute
// and the allowed value; the token that meets them all plans.
func TestAccTokenPolicy_blockRules(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := policyRun(t, api, "", "provider \"cmdop\" {"+eachRuleHCL+"}\n"+eachRuleResources())
	before := api.writes()
	out, err := run.run("plan", "-no-color")
	if err == nil {
		t.Fatalf("the plan succeeded:\n%s", out)
	}
	expectViolations(t, out, eachRuleViolations(func(rule string) string { return "token_policy." + rule + " in the provider block" }))
	expectContains(t, out, `expiry is "1y" (365 days)`, `expiry is "never"`, `Remove ["machines:write"] from scopes`)
	noWrites(t, api, before, "the refused plan")
}

// The same rules from the file named by CMDOP_TOKEN_POLICY_FILE, with no
// token_policy block: the errors name the file and the field.
func TestAccTokenPolicy_fileRules(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	file := writePolicyFile(t, eachRuleJSON)
	run := policyRun(t, api, file, eachRuleResources())
	before := api.writes()
	out, err := run.run("plan", "-no-color")
	if err == nil {
		t.Fatalf("the plan succeeded:\n%s", out)
	}
	expectViolations(t, out, eachRuleViolations(func(rule string) string {
		return fmt.Sprintf("%q in the token policy file %s (CMDOP_TOKEN_POLICY_FILE)", rule, file)
	}))
	noWrites(t, api, before, "the refused plan")
}

// A custom expiry date is judged by the API server's clock: a date 95
// days ahead by this machine's clock breaks max_expiry = "90d" until the
// server's clock is 10 days ahead, when it lies 85 days ahead by that clock.
func TestAccTokenPolicy_serverClock(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	date := time.Now().UTC().Add(95 * 24 * time.Hour).Truncate(time.Second).Format(time.RFC3339)
	run := policyRun(t, api, "", "provider \"cmdop\" {\n  token_policy {\n    max_expiry = \"90d\"\n  }\n}\n"+
		fleetToken("dated", fmt.Sprintf("expiry = %q", date)))
	before := api.writes()
	out, err := run.run("plan", "-no-color")
	if err == nil {
		t.Fatalf("the plan succeeded:\n%s", out)
	}
	expectContains(t, out, "breaks the token policy's max_expiry rule", fmt.Sprintf("expiry is %q (95", date), "from now by the API server's clock")
	noWrites(t, api, before, "the refused plan")

	api.advance(10 * 24 * time.Hour)
	out = run.must("plan", "-no-color")
	expectContains(t, out, "Plan: 1 to add, 0 to change, 0 to destroy.")
	expectNotContains(t, out, "token policy")
}

// Both set: the stricter value of each rule wins, after per-kind
// resolution, and each error names the source whose rule it breaks.
func TestAccTokenPolicy_stricterWins(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	file := writePolicyFile(t, `{
  "max_expiry": "30d",
  "allowed_scopes": ["machines:read", "files:read", "files:write", "machines:write"],
  "forbidden_scopes": ["files:read"],
  "name_pattern": "-prod$",
  "require_rotation": true,
  "max_grace_period": "24h",
  "fleet": {"max_grace_period": "12h"}
}`)
	hcl := `provider "cmdop" {
  token_policy {
    max_expiry       = "90d"
    allowed_scopes   = ["machines:read", "files:read", "files:write", "commands:execute"]
    forbidden_scopes = ["files:write"]
    name_pattern     = "^ci-"
    require_rotation = false
    max_grace_period = "1h"
    fleet {
      max_grace_period = "6h"
    }
  }
}
`
	body := strings.Join([]string{
		fleetToken("expiry", `expiry = "90d"`),                                     // meets the block's 90d, not the file's 30d
		fleetToken("allowed_file", `scopes = ["commands:execute"]`),                // the block allows it, the file does not
		fleetToken("allowed_block", `scopes = ["machines:write"]`),                 // the file allows it, the block does not
		fleetToken("forbidden_block", `scopes = ["machines:read", "files:write"]`), // forbidden by the block only
		fleetToken("forbidden_file", `scopes = ["files:read"]`),                    // forbidden by the file only
		fleetToken("name_file", `name = "ci-deploy"`),                              // matches the block's pattern only
		fleetToken("name_block", `name = "svc-deploy-prod"`),                       // matches the file's pattern only
		fleetToken("rotation", `rotation_triggers = -`),                            // the file requires rotation
		fleetToken("grace", `revoke_grace_period = "7h"`),                          // fleet: block 6h, file 12h
		personalToken("grace_personal", `revoke_grace_period = "2h"`),              // personal: block 1h, file 24h
		fleetToken("ok", `revoke_grace_period = "6h"`),
	}, "\n")
	run := policyRun(t, api, file, hcl+body)
	before := api.writes()
	out, err := run.run("plan", "-no-color")
	if err == nil {
		t.Fatalf("the plan succeeded:\n%s", out)
	}
	blk := func(field string) string { return "token_policy." + field + " in the provider block" }
	fil := func(field string) string { return fmt.Sprintf("%q in the token policy file %s", field, file) }
	expectViolations(t, out, []violation{
		{"cmdop_fleet_token.expiry", "max_expiry", fil("max_expiry"), "expiry", `a lifetime of at most "30d"`},
		{"cmdop_fleet_token.allowed_file", "allowed_scopes", fil("allowed_scopes"), "scopes", `only the scopes ["files:read", "files:write", "machines:read"]`},
		{"cmdop_fleet_token.allowed_block", "allowed_scopes", blk("allowed_scopes"), "scopes", `only the scopes ["files:read", "files:write", "machines:read"]`},
		{"cmdop_fleet_token.forbidden_block", "forbidden_scopes", blk("forbidden_scopes"), "scopes", `any scope except ["files:write"]`},
		{"cmdop_fleet_token.forbidden_file", "forbidden_scopes", fil("forbidden_scopes"), "scopes", `any scope except ["files:read"]`},
		{"cmdop_fleet_token.name_file", "name_pattern", fil("name_pattern"), "name", `only names that match "-prod$"`},
		{"cmdop_fleet_token.name_block", "name_pattern", blk("name_pattern"), "name", `only names that match "^ci-"`},
		{"cmdop_fleet_token.rotation", "require_rotation", fil("require_rotation"), "rotate_before", "only tokens that rotate"},
		{"cmdop_fleet_token.grace", "max_grace_period", blk("fleet.max_grace_period"), "revoke_grace_period", `a grace period of at most "6h"`},
		{"cmdop_personal_token.grace_personal", "max_grace_period", blk("max_grace_period"), "revoke_grace_period", `a grace period of at most "1h"`},
	})
	noWrites(t, api, before, "the refused plan")
}

// A per-kind value replaces the top-level one for that kind, looser or
// stricter, from the block and from the file.
func TestAccTokenPolicy_perKind(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	file := writePolicyFile(t, `{"name_pattern": "^(ci|svc|dev)-", "personal": {"name_pattern": "^dev-"}}`)
	hcl := `provider "cmdop" {
  token_policy {
    max_expiry = "90d"
    fleet {
      max_expiry = "365d"
    }
    personal {
      max_expiry = "30d"
    }
  }
}
`
	body := strings.Join([]string{
		fleetToken("fleet_year", `expiry = "1y"`, `name = "ci-fleet"`),          // fleet: 365d replaces 90d
		personalToken("personal_90", `expiry = "90d"`, `name = "dev-personal"`), // personal: 30d replaces 90d
		personalToken("personal_ci", `name = "ci-personal"`),                    // personal: ^dev- replaces the file's top level
		personalToken("personal_ok", `name = "dev-ok"`),
		fleetToken("fleet_ok", `name = "svc-ok"`),
	}, "\n")
	run := policyRun(t, api, file, hcl+body)
	before := api.writes()
	out, err := run.run("plan", "-no-color")
	if err == nil {
		t.Fatalf("the plan succeeded:\n%s", out)
	}
	expectViolations(t, out, []violation{
		{"cmdop_personal_token.personal_90", "max_expiry", "token_policy.personal.max_expiry in the provider block", "expiry", `a lifetime of at most "30d"`},
		{"cmdop_personal_token.personal_ci", "name_pattern", fmt.Sprintf("%q in the token policy file %s", "personal.name_pattern", file), "name", `only names that match "^dev-"`},
	})
	noWrites(t, api, before, "the refused plan")
}

// A configuration that meets the policy plans exactly as it does without
// one: the same plan output and the same API calls, and once applied, no
// change and no warning.
func TestAccTokenPolicy_compliantPlansAsWithout(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	body := strings.Join([]string{
		fleetToken("a", `expiry = "90d"`, `rotation_triggers = -`, `rotate_before = "7d"`),
		fleetToken("b", `scopes = ["machines:read", "files:read"]`, `revoke_grace_period = "1h"`),
		personalToken("c"),
	}, "\n")
	plain := policyRun(t, api, "", body)
	file := writePolicyFile(t, eachRuleJSON)
	guarded := policyRun(t, api, file, "provider \"cmdop\" {"+eachRuleHCL+"}\n"+body)

	total := func() int { return api.srv.Stats().Total }
	start := total()
	want := plain.must("plan", "-no-color")
	plainCalls := total() - start
	start = total()
	got := guarded.must("plan", "-no-color")
	guardedCalls := total() - start
	// The CLI's dev_overrides warning lists the overrides in no set order.
	afterOverrides := func(out string) string {
		_, rest, _ := strings.Cut(out, "published\nreleases.")
		return rest
	}
	if afterOverrides(got) != afterOverrides(want) || afterOverrides(want) == "" {
		t.Fatalf("the plan with a policy differs from the plan without:\n--- without\n%s\n--- with\n%s", want, got)
	}
	if plainCalls != guardedCalls {
		t.Fatalf("the plan with a policy made %d API calls, without %d", guardedCalls, plainCalls)
	}
	// The only warning is the CLI's own about dev_overrides.
	onlyOverrides := func(out string) {
		t.Helper()
		if n := strings.Count(out, "Warning: "); n != 1 || !strings.Contains(out, "Warning: Provider development overrides") {
			t.Fatalf("want no warning but the CLI's about dev_overrides:\n%s", out)
		}
	}
	onlyOverrides(want)
	out := guarded.must("apply", "-auto-approve", "-no-color")
	onlyOverrides(out)
	out = guarded.must("plan", "-no-color", "-detailed-exitcode")
	expectContains(t, out, "No changes.")
	onlyOverrides(out)
}

// An existing token that breaks a newly added policy is never replaced for
// it: each plan warns once per such token, naming it and the rules. A
// change to the argument that breaks a rule, a -replace, or a replacement
// the provider plans (the rotate_before window) is refused until the
// configuration complies.
func TestAccTokenPolicy_existingTokens(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	body := func(grace, scopes string, rotate ...string) string {
		if len(rotate) == 0 {
			rotate = []string{`rotate_before = "7d"`}
		}
		return strings.Join([]string{
			fleetToken("legacy_a", `name = "legacy-a"`, `expiry = "never"`, `rotation_triggers = -`),
			fleetToken("legacy_b", `name = "legacy-b"`, `expiry = "never"`, `rotation_triggers = -`, "revoke_grace_period = "+grace),
			fleetToken("rotating", "scopes = "+scopes, `rotation_triggers = -`, rotate[0]),
		}, "\n")
	}
	policy := `provider "cmdop" {
  token_policy {
    max_expiry       = "90d"
    require_rotation = true
    name_pattern     = "^ci-"
    forbidden_scopes = ["files:write"]
    max_grace_period = "24h"
  }
}
`
	old := body(`"0s"`, `["machines:read", "files:write"]`)
	run := policyRun(t, api, "", old)
	run.must("apply", "-auto-approve", "-no-color")
	idA := idFromStateShow(t, run.must("state", "show", "-no-color", "cmdop_fleet_token.legacy_a"))
	idB := idFromStateShow(t, run.must("state", "show", "-no-color", "cmdop_fleet_token.legacy_b"))
	idR := idFromStateShow(t, run.must("state", "show", "-no-color", "cmdop_fleet_token.rotating"))
	active := len(api.activeTokens(api.FleetID()))

	// The policy arrives: no change, one warning per token.
	if err := os.WriteFile(filepath.Join(run.dir, "main.tf"), []byte(policy+old), 0o600); err != nil {
		t.Fatal(err)
	}
	before := api.writes()
	out := run.must("plan", "-no-color", "-detailed-exitcode")
	expectContains(t, out, "No changes.",
		fmt.Sprintf(`Warning: The fleet token "legacy-a" (%s) breaks the token policy (max_expiry, require_rotation, name_pattern)`, idA),
		fmt.Sprintf(`Warning: The fleet token "legacy-b" (%s) breaks the token policy (max_expiry, require_rotation, name_pattern)`, idB),
		fmt.Sprintf(`Warning: The fleet token "ci-rotating-prod" (%s) breaks the token policy (forbidden_scopes)`, idR),
		"Terraform does not replace it for this",
		"token_policy.max_expiry in the provider block")
	expectNotContains(t, out, "more similar warning")
	if n := strings.Count(out, "breaks the token policy ("); n != 3 {
		t.Fatalf("the plan printed %d warnings, want one per token (3):\n%s", n, out)
	}
	out = run.must("apply", "-auto-approve", "-no-color")
	expectContains(t, out, "0 added, 0 changed, 0 destroyed")

	// A change that newly breaks a rule is refused.
	if err := os.WriteFile(filepath.Join(run.dir, "main.tf"), []byte(policy+body(`"48h"`, `["machines:read", "files:write"]`)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := run.run("plan", "-no-color")
	if err == nil {
		t.Fatalf("the plan succeeded:\n%s", out)
	}
	expectContains(t, out, `The fleet token "legacy-b" (`+idB+`) breaks the token policy's max_grace_period rule`, `allows a grace period of at most "24h"`)
	if err := os.WriteFile(filepath.Join(run.dir, "main.tf"), []byte(policy+body(`"0s"`, `["machines:read", "files:write"]`, `rotate_before = -`)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run.run("plan", "-no-color")
	if err == nil {
		t.Fatalf("the plan succeeded:\n%s", out)
	}
	expectContains(t, out, `The fleet token "ci-rotating-prod" (`+idR+`) breaks the token policy's require_rotation rule`)
	if err := os.WriteFile(filepath.Join(run.dir, "main.tf"), []byte(policy+old), 0o600); err != nil {
		t.Fatal(err)
	}

	// A replacement asked for by hand must meet the policy.
	out, err = run.run("plan", "-no-color", "-replace=cmdop_fleet_token.legacy_a")
	if err == nil {
		t.Fatalf("the plan succeeded:\n%s", out)
	}
	expectViolations(t, out, []violation{
		{"cmdop_fleet_token.legacy_a", "max_expiry", "token_policy.max_expiry in the provider block", "expiry", `a lifetime of at most "90d"`},
		{"cmdop_fleet_token.legacy_a", "require_rotation", "token_policy.require_rotation in the provider block", "rotate_before", "only tokens that rotate"},
		{"cmdop_fleet_token.legacy_a", "name_pattern", "token_policy.name_pattern in the provider block", "name", `only names that match "^ci-"`},
	})

	// Inside its rotate_before window, the rotating token must be replaced,
	// but its configuration breaks the policy: the plan fails until it
	// complies.
	api.advance(24 * 24 * time.Hour)
	out, err = run.run("plan", "-no-color")
	if err == nil {
		t.Fatalf("the plan succeeded:\n%s", out)
	}
	expectContains(t, out, "is inside its rotate_before window and will be replaced",
		`breaks the token policy's forbidden_scopes rule`, `any scope except ["files:write"]`)
	noWrites(t, api, before, "the plans under the new policy")
	if n := len(api.activeTokens(api.FleetID())); n != active {
		t.Fatalf("%d active tokens, want %d", n, active)
	}

	fixed := body(`"0s"`, `["machines:read"]`)
	if err := os.WriteFile(filepath.Join(run.dir, "main.tf"), []byte(policy+fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	out = run.must("apply", "-auto-approve", "-no-color")
	expectContains(t, out, "1 added, 0 changed, 1 destroyed")

	// An imported token is an existing token: imported, not replaced, and
	// warned about.
	imported := api.createToken(api.FleetID(), "imported", nil)
	run2 := policyRun(t, api, "", policy+fmt.Sprintf("import {\n  to = cmdop_fleet_token.imported\n  id = \"%s/%s\"\n}\n", api.FleetID(), imported.ID)+
		fleetToken("imported", `name = "imported"`, `expiry = "never"`, `rotation_triggers = -`))
	before = api.writes()
	out = run2.must("apply", "-auto-approve", "-no-color")
	expectContains(t, out, "1 imported, 0 added, 0 changed, 0 destroyed",
		fmt.Sprintf(`Warning: The fleet token "imported" (%s) breaks the token policy (max_expiry, require_rotation, name_pattern)`, imported.ID))
	noWrites(t, api, before, "the import")
}

// A value known only at apply is judged then, when Terraform plans the
// resource again before creating it: the token is never issued.
func TestAccTokenPolicy_unknownUntilApply(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := policyRun(t, api, "", `provider "cmdop" {
  token_policy {
    name_pattern = "^ci-"
  }
}
resource "terraform_data" "name" {
  input = "deploy"
}
`+fleetToken("late", "name = terraform_data.name.output"))
	before, active := api.writes(), len(api.activeTokens(api.FleetID()))
	out := run.must("plan", "-no-color")
	expectContains(t, out, "Plan: 2 to add, 0 to change, 0 to destroy.")
	out, err := run.run("apply", "-auto-approve", "-no-color")
	if err == nil {
		t.Fatalf("the apply succeeded:\n%s", out)
	}
	expectContains(t, out, `The fleet token "deploy" breaks the token policy's name_pattern rule`)
	noWrites(t, api, before, "the refused apply")
	if n := len(api.activeTokens(api.FleetID())); n != active {
		t.Fatalf("%d active fleet tokens, want %d: none issued", n, active)
	}
}

// The ephemeral tokens: max_ephemeral_ttl, the scope rules and
// name_pattern, checked before any token is issued.
func TestAccTokenPolicy_ephemeral(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	if !cliAtLeast(t, 10) {
		t.Skip("ephemeral resources need Terraform 1.10 or later (or OpenTofu 1.11 or later)")
	}
	file := writePolicyFile(t, `{"max_ephemeral_ttl": "4h", "forbidden_scopes": ["permissions:manage"]}`)
	run := policyRun(t, api, file, `provider "cmdop" {
  token_policy {
    max_expiry     = "30d"
    allowed_scopes = ["machines:read", "permissions:manage"]
    name_pattern   = "^ci-"
    personal {
      max_ephemeral_ttl = "2h"
    }
  }
}
ephemeral "cmdop_fleet_token" "ttl" {
  name   = "ci-ttl"
  scopes = ["machines:read"]
  ttl    = "8h"
}
ephemeral "cmdop_fleet_token" "allowed" {
  name   = "ci-allowed"
  scopes = ["machines:write"]
}
ephemeral "cmdop_fleet_token" "forbidden" {
  name   = "ci-forbidden"
  scopes = ["permissions:manage"]
}
ephemeral "cmdop_personal_token" "name" {
  name   = "deploy"
  scopes = ["machines:read"]
}
ephemeral "cmdop_personal_token" "ttl" {
  name   = "ci-personal-ttl"
  scopes = ["machines:read"]
  ttl    = "3h"
}
ephemeral "cmdop_fleet_token" "ok" {
  name   = "ci-ok"
  scopes = ["machines:read"]
  ttl    = "4h"
}
`)
	before := api.writes()
	out, err := run.run("plan", "-no-color")
	if err == nil {
		t.Fatalf("the plan succeeded:\n%s", out)
	}
	fil := func(field string) string { return fmt.Sprintf("%q in the token policy file %s", field, file) }
	expectViolations(t, out, []violation{
		{"ephemeral.cmdop_fleet_token.ttl", "max_ephemeral_ttl", fil("max_ephemeral_ttl"), "ttl", `a ttl of at most "4h"`},
		{"ephemeral.cmdop_fleet_token.allowed", "allowed_scopes", "token_policy.allowed_scopes in the provider block", "scopes", `only the scopes ["machines:read", "permissions:manage"]`},
		{"ephemeral.cmdop_fleet_token.forbidden", "forbidden_scopes", fil("forbidden_scopes"), "scopes", `any scope except ["permissions:manage"]`},
		{"ephemeral.cmdop_personal_token.name", "name_pattern", "token_policy.name_pattern in the provider block", "name", `only names that match "^ci-"`},
		{"ephemeral.cmdop_personal_token.ttl", "max_ephemeral_ttl", "token_policy.personal.max_ephemeral_ttl in the provider block", "ttl", `a ttl of at most "2h"`},
	})
	// The compliant one was opened and closed: its issue and its revoke
	// are the only writes.
	if w := api.writes() - before; w != 2 {
		t.Fatalf("the plan made %d write calls, want 2: the compliant token's issue and revoke", w)
	}
}

// A policy that cannot be read stops every plan, naming the file and the
// field; a typo never weakens a policy.
func TestAccTokenPolicy_badPolicy(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	body := fleetToken("x")
	before := api.writes()
	missing := filepath.Join(t.TempDir(), "nope.json")
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"missing", missing, []string{missing, "does not exist"}},
		{"malformed", writePolicyFile(t, "{\n  \"max_expiry\": \"30d\",\n}"), []string{"token-policy.json", "is not valid JSON at line 3, column 1"}},
		{"unknown key", writePolicyFile(t, `{"fleet": {"max_expirey": "30d"}}`), []string{"token-policy.json", `invalid field "fleet.max_expirey"`, "is not a token policy key"}},
		{"duplicate key", writePolicyFile(t, `{"max_expiry": "30d", "max_expiry": "1y"}`), []string{`invalid field "max_expiry"`, "appears twice"}},
		{"never", writePolicyFile(t, `{"personal": {"max_expiry": "never"}}`), []string{`"personal.max_expiry"`, `"never" is not a limit`}},
		{"scope typo", writePolicyFile(t, `{"forbidden_scopes": ["permission:manage"]}`), []string{`"forbidden_scopes"`, `"permission:manage" is not a CMDOP scope`}},
	} {
		out, err := policyRun(t, api, tc.file, body).run("plan", "-no-color")
		if err == nil {
			t.Fatalf("%s: the plan succeeded:\n%s", tc.name, out)
		}
		expectContains(t, out, append([]string{"Error: Invalid token policy file", "CMDOP_TOKEN_POLICY_FILE"}, tc.want...)...)
	}

	out, err := policyRun(t, api, "", `provider "cmdop" {
  token_policy {
    max_expiry        = "never"
    name_pattern      = "(ci"
    max_ephemeral_ttl = "30m"
    allowed_scopes    = ["machine:read"]
  }
}
`+body).run("plan", "-no-color")
	if err == nil {
		t.Fatalf("the plan succeeded:\n%s", out)
	}
	expectContains(t, out, "Invalid token policy", `token_policy.max_expiry: "never" is not a limit`,
		`token_policy.name_pattern: "(ci" is not a valid regular expression`,
		`token_policy.max_ephemeral_ttl: "30m" leaves no token able to meet it: use at least "1h"`, "machine:read")
	if n := len(regexp.MustCompile(`Error: `).FindAllString(out, -1)); n != 4 {
		t.Fatalf("%d errors, want 4:\n%s", n, out)
	}
	noWrites(t, api, before, "the refused plans")
}

// The guide's examples plan as they stand, under the guide's platform
// file: each meets both its block and the file.
func TestAccTokenPolicy_guideExamples(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	dir := filepath.Join(localtest.RepoRoot(), "examples", "guides", "token-policy")
	file := filepath.Join(dir, "token-policy.json")
	before := api.writes()
	// Each example is a configuration of its own (a directory), and each
	// meets the guide's file as well as its own block.
	for _, name := range []string{"ci-fleet", "personal"} {
		src, err := os.ReadFile(filepath.Join(dir, name, "main.tf"))
		if err != nil {
			t.Fatal(err)
		}
		out := policyRun(t, api, file, string(src)).must("plan", "-no-color")
		expectContains(t, out, "Plan: 1 to add, 0 to change, 0 to destroy.")
		expectNotContains(t, out, "token policy")
		// The same example breaks the policy once its token does.
		bad := strings.Replace(string(src), `name                = "ci-deploy"`, `name                = "deploy"`, 1)
		bad = strings.Replace(bad, `name              = "dev-alice-laptop"`, `name              = "alice-laptop"`, 1)
		out, err = policyRun(t, api, file, bad).run("plan", "-no-color")
		if err == nil {
			t.Fatalf("%s with a name outside the policy planned:\n%s", name, out)
		}
		expectContains(t, out, "breaks the token policy's name_pattern rule")
	}
	noWrites(t, api, before, "the plans")
}
