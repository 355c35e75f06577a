package provider_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// A fleet token cannot list personal tokens: the provider's advice agrees
// with the API's message (a personal token), and names no fleet token as
// the fix.
func TestAccPersonalTokensDataSource_fleetTokenRefused(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	fleetTok := api.createToken(api.FleetID(), "fleet-caller", []string{"permissions:manage"})
	before := api.writes()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      api.providerWith(fleetTok.RawToken, "") + `data "cmdop_personal_tokens" "all" {}`,
			ExpectError: regexp.MustCompile(`(?s)only\s+with\s+a\s+personal\s+token.*not\s+a\s+fleet\s+token`),
		}},
	})
	if got := api.writes() - before; got != 0 {
		t.Errorf("the refused listing made %d API writes, want 0", got)
	}
}
