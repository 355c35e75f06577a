package provider_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// Bad input is stopped at plan time, with an error that names the attribute
// and says the fix, and nothing reaches the API: every case here runs
// against one cmdop-local, which must see zero write calls.
func TestAccInvalidConfigurations(t *testing.T) {
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

// phrases matches output holding each phrase in order, however the CLI
// wrapped its lines.
func phrases(want ...string) *regexp.Regexp {
	pattern := "(?s)"
	for _, w := range want {
		pattern += strings.ReplaceAll(regexp.QuoteMeta(w), " ", `\s+`) + ".*"
	}
	return regexp.MustCompile(pattern)
}
