package provider_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// owner_id says in the configuration whose personal token it is: another
// user's ID fails the plan before anything is issued, the caller's own is
// applied and then plans no change, and changing it is refused.
func TestAccPersonalToken_ownerID(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	owner := api.srv.OwnerUserID()
	otherUser, _, _, err := api.srv.AddMember("", "admin", "Colleague")
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(id string) string {
		return api.config(`
resource "cmdop_personal_token" "t" {
  name     = "laptop"
  scopes   = ["machines:read"]
  owner_id = "` + id + `"
}`)
	}
	api.srv.ResetStats()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      cfg(otherUser),
				PlanOnly:    true,
				ExpectError: phrases("belongs to another user", "belongs to user "+otherUser, "authenticated as user "+owner),
			},
			{
				PreConfig: func() {
					if n := api.writes(); n != 0 {
						t.Fatalf("another user's owner_id made %d write calls, want 0", n)
					}
				},
				Config: cfg(owner),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("cmdop_personal_token.t", tfjsonpath.New("owner_id"), knownvalue.StringExact(owner)),
				},
			},
			{
				Config: cfg(owner),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_personal_token.t", plancheck.ResourceActionNoop),
				}},
			},
			{
				Config:      cfg(otherUser),
				ExpectError: phrases("Personal token owner cannot change", "belongs to user "+owner, "owner_id says "+otherUser),
			},
		},
	})
}

// A state that does not record the owner (written before owner_id existed)
// is never settled by a configured owner_id: the plan is refused with 0
// writes, even with the owner's own credentials, until a refresh records it.
func TestAccPersonalToken_ownerIDWithUnknownOwner(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	files := func(owner string) map[string]string {
		extra := ""
		if owner != "" {
			extra = "\n  owner_id = \"" + owner + "\""
		}
		return map[string]string{"main.tf": `
resource "cmdop_personal_token" "p" {
  name   = "personal"
  scopes = ["machines:read"]` + extra + `
}`}
	}
	run := newCLIRun(t, api, files(""))
	run.must("apply", "-auto-approve", "-no-color")
	owner := as[string](t, run.stateAttr("cmdop_personal_token.p", "owner_id"))
	run.editState("cmdop_personal_token.p", func(a map[string]any) { a["owner_id"] = nil }) // a state from before owner_id
	if err := os.WriteFile(filepath.Join(run.dir, "main.tf"), []byte(files(owner)["main.tf"]), 0o600); err != nil {
		t.Fatal(err)
	}
	writes := api.writes()
	out, err := run.run("plan", "-refresh=false", "-no-color", "-input=false")
	if err == nil {
		t.Fatalf("a configured owner_id settled an unknown owner:\n%s", out)
	}
	expectContains(t, out, "Personal token owner cannot change", "does not record its owner")
	if n := api.writes() - writes; n != 0 {
		t.Fatalf("%d write calls, want 0", n)
	}
}

// A personal token is issued only once the API has said whose it is: with
// who-am-I answering the plan's provider process and failing the apply's,
// the apply's own plan of the resource fails before the create, with 0
// writes and nothing in the state, so no placeholder of unknown owner is
// left for a colleague's refresh to take for gone.
func TestAccPersonalToken_noCreateWithoutOwner(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	p := newFaultProxy(t, api, func(method, path string, seen int) string {
		if method == http.MethodGet && path == "/api/account" && seen > 0 {
			return "503"
		}
		return ""
	})
	run := newCLIRun(t, api, map[string]string{"main.tf": fmt.Sprintf(`
provider "cmdop" {
  api_base_url = %q
  max_retries  = 0
}

resource "cmdop_personal_token" "p" {
  name   = "owned"
  scopes = ["machines:read"]
}
`, p.URL)})
	before := api.writes()
	out, err := run.run("apply", "-auto-approve", "-no-color")
	if err == nil {
		t.Fatalf("the apply without who-am-I succeeded:\n%s", out)
	}
	expectContains(t, out, "Plan: 1 to add", `Error planning personal token "owned"`)
	if w := api.writes() - before; w != 0 {
		t.Errorf("the apply made %d API writes, want 0", w)
	}
	if got := strings.TrimSpace(run.must("state", "list")); got != "" {
		t.Errorf("the state holds %q, want nothing", got)
	}
}
