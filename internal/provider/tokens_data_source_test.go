package provider_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// checkListed asserts how many tokens a listing returned, and that none
// carries anything secret-shaped.
func checkListed(addr string, want int) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		a, err := attrs(s, addr)
		if err != nil {
			return err
		}
		if got, _ := strconv.Atoi(a["tokens.#"]); got != want {
			return fmt.Errorf("%s lists %d tokens, want %d", addr, got, want)
		}
		for k, v := range a {
			if cmdopapi.SecretPattern.MatchString(v) {
				return fmt.Errorf("%s.%s holds a secret", addr, k)
			}
		}
		return nil
	}
}

// Listing data sources, each filter, across more than 200 tokens.
func TestAccTokensDataSources_filters(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	ctx := context.Background()
	// 210 fleet tokens: 150 "ci-", 60 "dev-"; 10 dev ones revoked, 5 ci ones used.
	var mu sync.Mutex
	var ci, dev []*cmdopapi.Token
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range 210 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			prefix := "ci-"
			if i >= 150 {
				prefix = "dev-"
			}
			tok := api.createToken(api.FleetID(), fmt.Sprintf("%s%03d", prefix, i), nil)
			mu.Lock()
			defer mu.Unlock()
			if prefix == "ci-" {
				ci = append(ci, tok)
			} else {
				dev = append(dev, tok)
			}
		}()
	}
	wg.Wait()
	for _, tok := range dev[:10] {
		if err := api.admin.RevokeToken(ctx, api.FleetID(), tok.ID); err != nil {
			t.Fatal(err)
		}
	}
	api.advance(time.Hour)
	cutoff := api.srv.Now()
	api.advance(time.Minute)
	for _, tok := range ci[:5] {
		if err := secretWorks(api.URL, tok.RawToken); err != nil {
			t.Fatal(err)
		}
	}
	api.createToken("", "laptop", nil)
	api.createToken("", "ci-personal", nil)
	// A second fleet: two tokens, one revoked. Only a data source that
	// reads the fleet it names finds exactly that one.
	if _, err := api.srv.AddFleet("second"); err != nil {
		t.Fatal(err)
	}
	api.createToken("second", "ci-second-active", nil)
	if err := api.admin.RevokeToken(ctx, "second", api.createToken("second", "ci-second-revoked", nil).ID); err != nil {
		t.Fatal(err)
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: api.config(fmt.Sprintf(`
data "cmdop_fleet_tokens" "all" {}
data "cmdop_fleet_tokens" "revoked" {
  status = "revoked"
}
data "cmdop_fleet_tokens" "active_ci" {
  status      = "active"
  name_prefix = "ci-"
}
data "cmdop_fleet_tokens" "stale_ci" {
  name_prefix  = "ci-"
  unused_since = %[1]q
}
data "cmdop_fleet_tokens" "explicit_fleet" {
  fleet_id = "second"
  status   = "revoked"
}
data "cmdop_fleet_tokens" "created_before_cutoff" {
  created_before = %[1]q
}
data "cmdop_fleet_tokens" "created_after_cutoff" {
  created_after = %[1]q
}
data "cmdop_personal_tokens" "mine" {}
data "cmdop_personal_tokens" "ci" {
  name_prefix = "ci-"
}
data "cmdop_personal_tokens" "none" {
  name_prefix = "nobody-"
}
`, cutoff.Format(time.RFC3339Nano))),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkListed("data.cmdop_fleet_tokens.all", 210),
				checkListed("data.cmdop_fleet_tokens.revoked", 10),
				checkListed("data.cmdop_fleet_tokens.active_ci", 150),
				checkListed("data.cmdop_fleet_tokens.stale_ci", 145),
				// The second fleet's one revoked token: 10 if fleet_id were
				// ignored, 2 if status were.
				checkListed("data.cmdop_fleet_tokens.explicit_fleet", 1),
				resource.TestCheckResourceAttr("data.cmdop_fleet_tokens.explicit_fleet", "tokens.0.name", "ci-second-revoked"),
				checkListed("data.cmdop_fleet_tokens.created_before_cutoff", 210),
				checkListed("data.cmdop_fleet_tokens.created_after_cutoff", 0),
				// the seeded admin token, laptop and ci-personal
				checkListed("data.cmdop_personal_tokens.mine", 3),
				checkListed("data.cmdop_personal_tokens.ci", 1),
				// An empty list, not null: length() and for expressions work.
				resource.TestCheckResourceAttr("data.cmdop_personal_tokens.none", "tokens.#", "0"),
				resource.TestCheckResourceAttr("data.cmdop_fleet_tokens.revoked", "tokens.0.status", "revoked"),
				resource.TestCheckResourceAttrSet("data.cmdop_fleet_tokens.revoked", "tokens.0.revoked_at"),
				resource.TestCheckResourceAttr("data.cmdop_fleet_tokens.all", "tokens.0.fleet_id", api.FleetID()),
				resource.TestCheckResourceAttr("data.cmdop_personal_tokens.ci", "tokens.0.user_id", api.srv.OwnerUserID()),
			),
		}},
	})
}
