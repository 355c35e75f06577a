package provider_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// The provider authenticates only through the CMDOP CLI's workspace store
// in a temporary config_dir; a store that others can read is refused.
// Not parallel: it clears the token environment variables.
func TestAccProvider_credentialsFromCLIStore(t *testing.T) {
	t.Setenv("CMDOP_TOKEN", "")
	t.Setenv("CMDOP_API_KEY", "")
	t.Setenv("CMDOP_CONFIG_DIR", "")
	api := newTestAPI(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "ssh_workspaces.json")
	content := fmt.Sprintf(`{"active": "local", "workspaces": [
  {"name": "other", "api_key": "", "remote_id": "w0", "remote_name": "Other", "last_synced_at": "2026-01-01T00:00:00Z"},
  {"name": "local", "api_key": %q, "remote_id": "w1", "remote_name": "Local", "last_synced_at": "2026-01-01T00:00:00Z"}
]}`, api.secret)
	if err := os.WriteFile(store, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
provider "cmdop" {
  api_base_url = %q
  fleet_id     = %q
  config_dir   = %q
}
resource "cmdop_fleet_token" "from_store" {
  name   = "from-store"
  scopes = ["machines:read"]
}`, api.URL, api.FleetID(), dir)
	var id, again string
	var mark int
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("cmdop_fleet_token.from_store", "status", "active"),
					capture("cmdop_fleet_token.from_store", "id", &id),
					// The API's view: created with the store's token (the
					// admin's), the only credential the provider had.
					func(*terraform.State) error {
						tok := api.token(api.FleetID(), id)
						if tok.Status != cmdopapi.StatusActive || tok.CreatedByID != api.srv.OwnerUserID() {
							return fmt.Errorf("the API shows %+v, want an active token created by the store's owner", tok)
						}
						if _, err := firstEvent(api, cmdopapi.ActionTokenIssued, id); err != nil {
							return err
						}
						return nil
					},
				),
			},
			{
				PreConfig: func() {
					if err := os.Chmod(store, 0o644); err != nil {
						t.Fatal(err)
					}
					markWrites(api, &mark)
				},
				Config:      cfg,
				ExpectError: regexp.MustCompile(`(?s)can be read by other users.*chmod\s+600\s+` + regexp.QuoteMeta(store)),
			},
			{
				PreConfig: func() {
					// The refused store: not one request made with it.
					if got := api.writes() - mark; got != 0 {
						t.Fatalf("the refused store's plan made %d API writes", got)
					}
					if err := os.Chmod(store, 0o600); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				Check: resource.ComposeAggregateTestCheckFunc(
					capture("cmdop_fleet_token.from_store", "id", &again),
					noWritesSince(api, &mark, "the refused plan and the apply after it"),
					func(*terraform.State) error {
						if again != id || api.token(api.FleetID(), id).Status != cmdopapi.StatusActive {
							return fmt.Errorf("the token changed: %s, was %s", again, id)
						}
						return nil
					},
				),
			},
		},
	})
}
