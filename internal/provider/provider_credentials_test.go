package provider_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
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
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check:  resource.TestCheckResourceAttr("cmdop_fleet_token.from_store", "status", "active"),
			},
			{
				PreConfig: func() {
					if err := os.Chmod(store, 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config:      cfg,
				ExpectError: regexp.MustCompile(`(?s)can be read by other users.*chmod\s+600\s+` + regexp.QuoteMeta(store)),
			},
			{
				PreConfig: func() {
					if err := os.Chmod(store, 0o600); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
			},
		},
	})
}
