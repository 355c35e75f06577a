package provider_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// The mistakes that once passed the plan and failed at apply, or lost a
// token there: each stops at plan with an error that names the argument
// and the fix, nothing is written to the API, and no secret is printed.
func TestAccBadInput_stopsAtPlan(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	weak := api.createToken(api.FleetID(), "fleet-credential", []string{"machines:read", "permissions:manage"})
	expired := api.createToken("", "expired-credential", cmdopapi.Scopes)
	if err := api.admin.RevokeToken(context.Background(), "", expired.ID); err != nil {
		t.Fatal(err)
	}
	before := api.writes()
	t.Cleanup(func() {
		if w := api.writes() - before; w != 0 {
			t.Errorf("bad input made %d write calls to the API, want 0", w)
		}
	})
	res := func(typ, args string) string {
		return api.config(fmt.Sprintf("resource %q \"x\" {\n%s\n}\n", typ, args))
	}
	fleet := func(args string) string { return res("cmdop_fleet_token", args) }
	personal := func(args string) string { return res("cmdop_personal_token", args) }
	named := func(args string) string { return fleet("  name = \"x\"\n  scopes = [\"machines:read\"]\n" + args) }
	namedPersonal := func(args string) string { return personal("  name = \"x\"\n  scopes = [\"machines:read\"]\n" + args) }
	withProvider := func(token, extra, body string) string { return api.providerWith(token, extra) + body }
	tokenBody := "resource \"cmdop_fleet_token\" \"x\" {\n  name = \"x\"\n  scopes = [\"machines:read\"]\n}\n"
	personalBody := "resource \"cmdop_personal_token\" \"x\" {\n  name = \"x\"\n  scopes = [\"machines:read\"]\n}\n"
	bareProvider := func(args string) string { return "provider \"cmdop\" {\n" + args + "\n}\n" + tokenBody }

	cases := []struct {
		name, config string
		want         []string // all must appear in the error, in order
		ephemeral    bool     // needs Terraform 1.10
	}{
		{"blank name", fleet("name = \"   \"\nscopes = [\"machines:read\"]"), []string{"name", "is blank"}, false},
		{"name of tabs and newlines", fleet("name = \"\\t\\n\"\nscopes = [\"machines:read\"]"), []string{"name", "is blank"}, false},
		{"blank personal token name", personal("name = \" \"\nscopes = [\"machines:read\"]"), []string{"name", "is blank"}, false},
		{"null scope", fleet("name = \"x\"\nscopes = [\"machines:read\", null]"), []string{"scopes", "null"}, false},
		{"null personal scope", personal("name = \"x\"\nscopes = [null]"), []string{"scopes", "null"}, false},
		{"null audit action", api.config("data \"cmdop_audit_events\" \"x\" {\n  actions = [\"token.issued\", null]\n}"), []string{"actions", "null"}, false},
		{"grace period of 180 years", named("expiry = \"never\"\nrevoke_grace_period = \"65535d\""), []string{"revoke_grace_period", "longer than 7 days", `"7d"`}, false},
		{"grace period of 8 days", named(`revoke_grace_period = "8d"`), []string{"revoke_grace_period", "longer than 7 days"}, false},
		{"grace period of 169 hours", namedPersonal(`revoke_grace_period = "169h"`), []string{"revoke_grace_period", "longer than 7 days"}, false},
		{"zero create timeout", named("timeouts {\n  create = \"0s\"\n}"), []string{"timeouts.create", "positive duration"}, false},
		{"negative create timeout", named("timeouts {\n  create = \"-1s\"\n}"), []string{"timeouts.create", "positive duration"}, false},
		{"zero read timeout", named("timeouts {\n  read = \"0m\"\n}"), []string{"timeouts.read", "positive duration"}, false},
		{"negative delete timeout", namedPersonal("timeouts {\n  delete = \"-5m\"\n}"), []string{"timeouts.delete", "positive duration"}, false},
		{"create timeout of 1ns", named("timeouts {\n  create = \"1ns\"\n}"), []string{"timeouts.create", "at least 1s"}, false},
		{"delete timeout of 999ms", namedPersonal("timeouts {\n  delete = \"999ms\"\n}"), []string{"timeouts.delete", "at least 1s"}, false},
		{"provider token not shaped like a CMDOP token", withProvider("ghp_notacmdoptoken", "", tokenBody),
			[]string{"Invalid CMDOP API token", "not shaped like a CMDOP API token", "did not send it"}, false},
		{"provider token cut short", withProvider(api.secret[:20], "", tokenBody), []string{"Invalid CMDOP API token"}, false},
		{"revoked provider token", withProvider(expired.RawToken, "", tokenBody),
			[]string{"The CMDOP API rejected the provider's token", expired.KeyPrefix + "…", "expired, was revoked, or is unknown"}, false},
		{"fleet that does not exist", named(`fleet_id = "prod-fleeet"`), []string{`Fleet "prod-fleeet" is not reachable`, "does not have fleet", "for a typo"}, false},
		{"provider fleet that does not exist", withProvider("", "", "") + strings.Replace(tokenBody, "name", "fleet_id = \"nope\"\n  name", 1),
			[]string{`Fleet "nope" is not reachable`}, false},
		{"fleet_id with a space", named(`fleet_id = "a b"`), []string{"fleet_id", "without spaces or slashes"}, false},
		{"fleet_id too long", named(fmt.Sprintf("fleet_id = %q", strings.Repeat("f", 129))), []string{"fleet_id", "1 to 128"}, false},
		{"base URL with a version path", bareProvider(fmt.Sprintf("api_base_url = %q\ntoken = %q\nfleet_id = %q", api.URL+"/v1", api.secret, api.FleetID())),
			[]string{"has no such route", "without /api or a version path"}, false},
		{"token as the base URL", bareProvider(fmt.Sprintf("api_base_url = %q\ntoken = %q", api.secret, api.secret)),
			[]string{"api_base_url", "cmdop_***", "not an absolute http(s) URL"}, false},
		{"token as the base URL host", bareProvider(fmt.Sprintf("api_base_url = %q\ntoken = %q", "http://"+api.secret+".example.com", api.secret)),
			[]string{"api_base_url", "cmdop_***", "plain http"}, false},
		{"personal token with a fleet token", withProvider(weak.RawToken, "", personalBody),
			[]string{"Cannot manage", "with a fleet token", "personal token of the owner"}, false},
		{"fleet data source in a missing fleet", api.config("data \"cmdop_fleet_tokens\" \"x\" {\n  fleet_id = \"nope\"\n}"),
			[]string{"does not have fleet", "for a typo"}, false},
		{"blank ephemeral name", api.config("ephemeral \"cmdop_fleet_token\" \"x\" {\n  name = \"  \"\n  scopes = [\"machines:read\"]\n}"),
			[]string{"name", "is blank"}, true},
		{"null ephemeral scope", api.config("ephemeral \"cmdop_personal_token\" \"x\" {\n  name = \"x\"\n  scopes = [null]\n}"),
			[]string{"scopes", "null"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc := resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      tc.config,
					PlanOnly:    true,
					ExpectError: phrases(tc.want...),
				}},
			}
			if strings.Contains(tc.Steps[0].Config, "ephemeral \"") {
				tc.TerraformVersionChecks = ephemeralVersionChecks
			}
			resource.Test(t, tc)
		})
	}
}

// Bad input is stopped at plan time, with an error that names the attribute
// and says the fix, and nothing reaches the API: every case here runs
// against one cmdop-local, which must see zero write calls.
func TestAccBadInput_invalidConfigurations(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	t.Cleanup(func() {
		if w := api.writes(); w != 0 {
			t.Errorf("invalid configurations made %d write calls to the API, want 0", w)
		}
	})
	soon := time.Now().UTC().Add(30 * time.Minute).Format(time.RFC3339)
	dayAhead := time.Now().UTC().Add(24 * time.Hour).Format(time.RFC3339)
	fleet := func(args string) string {
		return api.config("resource \"cmdop_fleet_token\" \"x\" {\n" + args + "\n}\n")
	}
	named := func(args string) string {
		return fleet("  name = \"x\"\n  scopes = [\"machines:read\"]\n" + args)
	}
	provider := func(args string) string {
		return "provider \"cmdop\" {\n" + args + "\n}\nresource \"cmdop_fleet_token\" \"x\" {\n  fleet_id = \"f\"\n  name = \"x\"\n  scopes = [\"machines:read\"]\n}\n"
	}
	validExpiry := `"never", "30d", "90d", "1y", or an RFC3339 timestamp`

	cases := []struct {
		name, config string
		want         []string // all must appear in the error
	}{
		{"empty name", fleet(`name = ""` + "\n" + `scopes = ["machines:read"]`), []string{"name", "length must be between 1 and 100"}},
		{"name too long", fleet(fmt.Sprintf("name = %q\nscopes = [\"machines:read\"]", strings.Repeat("n", 101))), []string{"name", "between 1 and 100"}},
		{"missing name", fleet(`scopes = ["machines:read"]`), []string{`The argument "name" is required`}},
		{"no scopes", fleet("name = \"x\"\nscopes = []"), []string{"scopes", "at least 1"}},
		{"unknown scope", fleet("name = \"x\"\nscopes = [\"machines:fly\"]"), []string{"scopes", "machines:fly", "machines:read", "permissions:manage"}},
		{"misspelled scope", fleet("name = \"x\"\nscopes = [\"machine:read\"]"), []string{"scopes", "must be one of", "machines:read"}},
		{"unknown expiry preset", named(`expiry = "45d"`), []string{"expiry", validExpiry}},
		{"expiry not a date", named(`expiry = "tomorrow"`), []string{"expiry", validExpiry}},
		{"expiry in the past", named(`expiry = "2020-01-01T00:00:00Z"`), []string{"expiry", "is in the past,", "days ago", "at least one hour ahead", "Use a later date"}},
		{"expiry too close", named(fmt.Sprintf("expiry = %q", soon)), []string{"expiry", "is only ", "m", "s from now", "at least one hour ahead"}},
		{"rotate_before not a duration", named(`rotate_before = "7 days"`), []string{"rotate_before", `use a duration such as "168h"`}},
		{"rotate_before negative", named(`rotate_before = "-1h"`), []string{"rotate_before", "negative"}},
		{"rotate_before with never", named("expiry = \"never\"\nrotate_before = \"7d\""), []string{"rotate_before", `expiry is "never"`, "Remove rotate_before"}},
		{"rotate_before equal to lifetime", named("expiry = \"30d\"\nrotate_before = \"30d\""), []string{"rotate_before", "shorter than the token's lifetime"}},
		{"rotate_before beyond default lifetime", named(`rotate_before = "2160h"`), []string{"rotate_before", `expiry "90d", 90 days`}},
		{"rotate_before beyond custom lifetime", named(fmt.Sprintf("expiry = %q\nrotate_before = \"48h\"", dayAhead)), []string{"rotate_before", "needs a relative expiry", `Use expiry "30d", "90d" or "1y"`}},
		{"revoke_grace_period not a duration", named(`revoke_grace_period = "soon"`), []string{"revoke_grace_period", "not a valid duration"}},
		{"revoke_grace_period in weeks", named(`revoke_grace_period = "1w"`), []string{"revoke_grace_period", `"7d"`}},
		{"empty fleet_id", named(`fleet_id = ""`), []string{"fleet_id", "must be a fleet ID"}},
		{"fleet_id with a slash", named(`fleet_id = "a/b"`), []string{"fleet_id", "must be a fleet ID"}},
		{"fleet_id on a personal token", api.config("resource \"cmdop_personal_token\" \"x\" {\n  fleet_id = \"f\"\n  name = \"x\"\n  scopes = [\"machines:read\"]\n}"), []string{`An argument named "fleet_id" is not expected here`}},
		{"no fleet anywhere", fmt.Sprintf("provider \"cmdop\" {\n  api_base_url = %q\n  token = %q\n}\nresource \"cmdop_fleet_token\" \"x\" {\n  name = \"x\"\n  scopes = [\"machines:read\"]\n}\n", api.URL, api.secret), []string{"Missing fleet ID", "Set fleet_id on the resource, or fleet_id on the provider"}},
		{"misspelled argument", fleet("name = \"x\"\nscope = [\"machines:read\"]"), []string{`An argument named "scope" is not expected here`}},
		{"malformed api_base_url", provider(`api_base_url = "api.cmdop.com"`), []string{"api_base_url", "not an absolute http(s) URL"}},
		{"plain http to a remote host", provider(`api_base_url = "http://api.cmdop.com"`), []string{"api_base_url", "plain http to a host that is not loopback", "use https"}},
		{"ftp api_base_url", provider(`api_base_url = "ftp://127.0.0.1/"`), []string{"api_base_url", "not an absolute http(s) URL"}},
		{"credentials in api_base_url", provider(`api_base_url = "https://me:pw@api.cmdop.com"`), []string{"api_base_url", "must not contain credentials"}},
		{"empty token", provider(`token = ""`), []string{"token", "string length must be at least 1"}},
		{"max_retries too high", provider(`max_retries = 50`), []string{"max_retries", "between 0 and 20"}},
		{"request_timeout not a duration", provider(`request_timeout = "fast"`), []string{"Invalid Time Duration String Value", "request_timeout"}},
		{"request_timeout negative", provider(`request_timeout = "-5s"`), []string{"request_timeout", "positive duration"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      tc.config,
					PlanOnly:    true,
					ExpectError: phrases(tc.want...),
				}},
			})
		})
	}
	t.Run("malformed import IDs", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ addr, id, want string }{
			{"cmdop_fleet_token.x", "just-an-id", `Expected <fleet_id>/<token_id>`},
			{"cmdop_fleet_token.x", api.FleetID() + "/not-a-uuid", `has no valid token ID`},
			{"cmdop_fleet_token.x", "/00000000-0000-4000-8000-000000000000", `has no valid fleet ID`},
			{"cmdop_personal_token.x", "a/00000000-0000-4000-8000-000000000000", `Expected <token_id>`},
		} {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:        api.config(fmt.Sprintf("resource %q \"x\" {\n  name = \"x\"\n  scopes = [\"machines:read\"]\n}", strings.Split(tc.addr, ".")[0])),
					ResourceName:  tc.addr,
					ImportState:   true,
					ImportStateId: tc.id,
					ExpectError:   phrases(tc.want),
				}},
			})
		}
	})
}
