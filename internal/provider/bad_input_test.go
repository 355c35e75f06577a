package provider_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

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
				tc.TerraformVersionChecks = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)}
			}
			resource.Test(t, tc)
		})
	}
}
