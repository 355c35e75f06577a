package provider_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// as is v as a T, or the test fails: for the untyped JSON of a state file.
func as[T any](t *testing.T, v any) T {
	t.Helper()
	x, ok := v.(T)
	if !ok {
		t.Fatalf("the state holds a %T where a %T was expected", v, x)
	}
	return x
}

// editState rewrites the state through terraform state pull and push, as a
// state written by an older provider or edited by hand would be: edit
// changes the attributes of the resource at addr ("type.name").
func (c *cliRun) editState(addr string, edit func(attrs map[string]any)) {
	c.t.Helper()
	var st map[string]any
	if err := json.Unmarshal([]byte(c.must("state", "pull")), &st); err != nil {
		c.t.Fatal(err)
	}
	typ, name, _ := strings.Cut(addr, ".")
	found := false
	for _, r := range as[[]any](c.t, st["resources"]) {
		res := as[map[string]any](c.t, r)
		if res["type"] != typ || res["name"] != name {
			continue
		}
		for _, inst := range as[[]any](c.t, res["instances"]) {
			edit(as[map[string]any](c.t, as[map[string]any](c.t, inst)["attributes"]))
			found = true
		}
	}
	if !found {
		c.t.Fatalf("%s is not in the state", addr)
	}
	st["serial"] = as[float64](c.t, st["serial"]) + 1
	b, _ := json.Marshal(st)
	file := filepath.Join(c.t.TempDir(), "edited.tfstate")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.must("state", "push", file)
}

// stateAttr reads one attribute of addr from terraform state pull.
func (c *cliRun) stateAttr(addr, key string) any {
	c.t.Helper()
	var st struct {
		Resources []struct {
			Type, Name string
			Instances  []struct {
				Attributes map[string]any
			}
		}
	}
	if err := json.Unmarshal([]byte(c.must("state", "pull")), &st); err != nil {
		c.t.Fatal(err)
	}
	typ, name, _ := strings.Cut(addr, ".")
	for _, r := range st.Resources {
		if r.Type == typ && r.Name == name && len(r.Instances) == 1 {
			return r.Instances[0].Attributes[key]
		}
	}
	c.t.Fatalf("%s is not in the state", addr)
	return nil
}

// An unknown owner is not proof of absence: a personal token whose state
// has no owner_id, refreshed with a colleague's token, is kept (plan,
// refresh-only and apply), nothing is issued for it, and destroy refuses
// rather than count it destroyed. A refresh with the owner's token settles
// it.
func TestAccPersonalToken_unknownOwnerIsKept(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := newCLIRun(t, api, map[string]string{"main.tf": `
resource "cmdop_personal_token" "p" {
  name   = "personal"
  scopes = ["machines:read"]
}`})
	run.must("apply", "-auto-approve", "-no-color")
	id := as[string](t, run.stateAttr("cmdop_personal_token.p", "id"))
	owner := as[string](t, run.stateAttr("cmdop_personal_token.p", "owner_id"))
	run.editState("cmdop_personal_token.p", func(a map[string]any) { a["owner_id"] = nil }) // a state from before owner_id
	_, _, colleague, err := api.srv.AddMember(api.FleetID(), "admin", "colleague")
	if err != nil {
		t.Fatal(err)
	}
	asColleague := []string{"CMDOP_TOKEN=" + colleague}
	writes := api.writes()
	stillActive := func() {
		t.Helper()
		if tok := api.token("", id); tok.Status != cmdopapi.StatusActive {
			t.Fatalf("the owner's token is %s, want active", tok.Status)
		}
		if got := run.stateAttr("cmdop_personal_token.p", "id"); got != id {
			t.Fatalf("the state's token is %v, want %s", got, id)
		}
	}

	out, err := run.runEnv(asColleague, "plan", "-no-color")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	expectContains(t, out, "Cannot tell whether the personal token", "kept in the state", "personal token of its owner", "terraform state rm", "No changes.")
	stillActive()
	out, err = run.runEnv(asColleague, "apply", "-refresh-only", "-auto-approve", "-no-color")
	if err != nil {
		t.Fatalf("apply -refresh-only: %v\n%s", err, out)
	}
	expectContains(t, out, "Cannot tell whether the personal token")
	stillActive()
	out, err = run.runEnv(asColleague, "apply", "-auto-approve", "-no-color")
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	expectContains(t, out, "0 added, 0 changed, 0 destroyed")
	stillActive()
	out, err = run.runEnv(asColleague, "destroy", "-auto-approve", "-no-color")
	if err == nil {
		t.Fatalf("destroy with a colleague's token succeeded:\n%s", out)
	}
	expectContains(t, out, "Cannot tell whether the personal token", "was revoked", "Nothing was revoked", "terraform state rm")
	expectNotContains(t, out, "Destroy complete")
	stillActive()
	if w := api.writes() - writes; w != 0 {
		t.Errorf("the colleague's runs made %d writes, want 0", w)
	}

	// The owner settles it: the refresh records owner_id, and destroy revokes.
	out = run.must("apply", "-refresh-only", "-auto-approve", "-no-color")
	expectNotContains(t, out, "Cannot tell whether")
	if got := run.stateAttr("cmdop_personal_token.p", "owner_id"); got != owner {
		t.Fatalf("owner_id after the owner's refresh is %v, want %s", got, owner)
	}
	run.must("destroy", "-auto-approve", "-no-color")
	if tok := api.token("", id); tok.Status != cmdopapi.StatusRevoked {
		t.Fatalf("after the owner's destroy the token is %s, want revoked", tok.Status)
	}
}

// A fleet token whose state has a null fleet_id is an error that names the
// fix, never a read at the personal route, and nothing is dropped.
func TestAccFleetToken_nullFleetIDInState(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := newCLIRun(t, api, map[string]string{"main.tf": `
resource "cmdop_fleet_token" "f" {
  name   = "fleet"
  scopes = ["machines:read"]
}`})
	run.must("apply", "-auto-approve", "-no-color")
	id := as[string](t, run.stateAttr("cmdop_fleet_token.f", "id"))
	run.editState("cmdop_fleet_token.f", func(a map[string]any) { a["fleet_id"] = nil })
	writes, personalReads := api.writes(), api.srv.Stats().ByRoute["GET /api/account/api-tokens/{token_id}"]
	for _, args := range [][]string{{"plan", "-no-color"}, {"plan", "-refresh=false", "-no-color"}, {"destroy", "-auto-approve", "-no-color"}} {
		out, err := run.run(args...)
		if err == nil {
			t.Fatalf("terraform %v succeeded:\n%s", args, out)
		}
		expectContains(t, out, "has no fleet_id", "terraform state rm", "terraform import", "<fleet_id>/"+id)
	}
	if got := run.stateAttr("cmdop_fleet_token.f", "id"); got != id {
		t.Fatalf("the state's token is %v, want %s", got, id)
	}
	if tok := api.token(api.FleetID(), id); tok.Status != cmdopapi.StatusActive {
		t.Fatalf("the token is %s, want active", tok.Status)
	}
	if w := api.writes() - writes; w != 0 {
		t.Errorf("%d writes, want 0", w)
	}
	if n := api.srv.Stats().ByRoute["GET /api/account/api-tokens/{token_id}"] - personalReads; n != 0 {
		t.Errorf("the fleet token was read %d times at the personal route", n)
	}
}

// A wrong base URL that answers 200 with a JSON body to every path (a
// proxy, a health endpoint) fails at the first call, whatever the body:
// the state is untouched, destroy counts nothing as revoked, and back on
// the right URL nothing needs doing.
func TestAccNeverLose_serverThatSays200ToEverything(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := newCLIRun(t, api, map[string]string{"main.tf": twoTokens})
	run.must("apply", "-auto-approve", "-no-color")
	live := liveTokens(t, api)
	before := run.must("state", "pull")
	fleetID := as[string](t, run.stateAttr("cmdop_fleet_token.f", "id"))
	personalID := as[string](t, run.stateAttr("cmdop_personal_token.p", "id"))
	other := "0d5e1f2a-3b4c-4d5e-8f60-718293a4b5c6"
	bodies := map[string]string{
		"empty object": `{}`,
		"a plausible fleet token": `{"id":"` + other + `","fleet_id":"` + api.FleetID() + `","name":"fleet","key_prefix":"cmdop_abcdef",` +
			`"scopes":["machines:read"],"created_at":"2026-01-01T00:00:00Z","status":"active"}`,
		"the same fleet token": `{"id":"` + fleetID + `","fleet_id":"` + api.FleetID() + `","name":"fleet","key_prefix":"cmdop_abcdef",` +
			`"scopes":["machines:read"],"created_at":"2026-01-01T00:00:00Z","status":"revoked"}`,
		"a plausible personal token": `{"id":"` + other + `","user_id":"u","name":"personal","key_prefix":"cmdop_abcdef",` +
			`"scopes":["machines:read"],"created_at":"2026-01-01T00:00:00Z","status":"active"}`,
	}
	writes := api.writes()
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			}))
			defer gateway.Close()
			env := []string{"CMDOP_API_BASE_URL=" + gateway.URL}
			for _, args := range [][]string{
				{"plan", "-no-color"},
				{"apply", "-refresh-only", "-auto-approve", "-no-color"},
				{"apply", "-auto-approve", "-no-color"},
				{"destroy", "-auto-approve", "-no-color"},
			} {
				out, err := run.runEnv(env, args...)
				if err == nil {
					t.Fatalf("terraform %v against the gateway succeeded:\n%s", args, out)
				}
				expectContains(t, out, "does not answer like the CMDOP API", "state is unchanged", "api_base_url")
				expectNotContains(t, out, "destroyed")
				if after := run.must("state", "pull"); after != before {
					t.Fatalf("terraform %v changed the state:\n%s", args, after)
				}
			}
		})
	}
	if w := api.writes() - writes; w != 0 {
		t.Errorf("%d writes reached the real API, want 0", w)
	}
	unchanged(t, run, api, live)
	for _, tok := range []struct{ fleet, id string }{{api.FleetID(), fleetID}, {"", personalID}} {
		if got := api.token(tok.fleet, tok.id); got.Status != cmdopapi.StatusActive {
			t.Fatalf("token %s is %s, want active", tok.id, got.Status)
		}
	}
	run.must("destroy", "-auto-approve", "-no-color")
	if n := len(liveTokens(t, api)); n != 0 {
		t.Fatalf("%d tokens still active after the destroy on the right URL", n)
	}
}

// activeLost lists the active tokens of the fleet named "lost", the name
// that these tests' lost creates give.
func activeLost(api *testAPI) []cmdopapi.Token {
	var out []cmdopapi.Token
	for _, tok := range api.activeTokens(api.FleetID()) {
		if tok.Name == "lost" {
			out = append(out, tok)
		}
	}
	return out
}

const lostCreate = `
provider "cmdop" {
  max_retries = 0
}
resource "cmdop_fleet_token" "t" {
  name   = "lost"
  scopes = ["machines:read"]
}`

// leaveLostCreate applies with every answer lost after the API acted: the
// create issued its token, and the state holds a placeholder.
func leaveLostCreate(t *testing.T, api *testAPI, run *cliRun) cmdopapi.Token {
	t.Helper()
	api.setFaults(cmdoplocal.FaultConfig{FailRate: 1, Modes: []string{cmdoplocal.FaultDrop}})
	out, err := run.run("apply", "-auto-approve", "-no-color")
	api.setFaults(cmdoplocal.FaultConfig{})
	if err == nil {
		t.Fatalf("the apply with every answer lost succeeded:\n%s", out)
	}
	expectContains(t, out, "The token may exist without Terraform knowing its ID")
	if id, _ := run.stateAttr("cmdop_fleet_token.t", "id").(string); !strings.HasPrefix(id, "pending-") {
		t.Fatalf("the state holds %q, want a placeholder", id)
	}
	lost := activeLost(api)
	if len(lost) != 1 {
		t.Fatalf("the lost create issued %d tokens, want 1", len(lost))
	}
	return lost[0]
}

// A lost create never becomes a second token: the next apply finds the
// token that the create issued by its idempotency key (the designed
// lookup), adopts it, and replaces it, so that one token is active.
func TestAccFleetToken_lostCreateIsAdopted(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := newCLIRun(t, api, map[string]string{"main.tf": lostCreate})
	lost := leaveLostCreate(t, api, run)

	out := run.must("plan", "-no-color")
	expectContains(t, out, "Found the token of the failed create", "1 to add, 0 to change, 1 to destroy")
	out = run.must("apply", "-auto-approve", "-no-color")
	expectContains(t, out, "1 added, 0 changed, 1 destroyed")
	active := activeLost(api)
	if len(active) != 1 || active[0].ID == lost.ID {
		t.Fatalf("active tokens named lost: %v, want one, not the lost create's %s", active, lost.ID)
	}
	if got := run.stateAttr("cmdop_fleet_token.t", "id"); got != active[0].ID {
		t.Fatalf("the state holds %v, want the active token %s", got, active[0].ID)
	}
	if tok := api.token(api.FleetID(), lost.ID); tok.Status != cmdopapi.StatusRevoked {
		t.Fatalf("the lost create's token is %s, want revoked", tok.Status)
	}
	expectContains(t, run.must("plan", "-no-color"), "No changes.")
}

// Once the API no longer remembers the create's key, a token of the same
// name issued around the failure may be the create's: the provider issues
// no second token, and says which tokens to check.
func TestAccFleetToken_lostCreatePastTheWindow(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := newCLIRun(t, api, map[string]string{"main.tf": lostCreate})
	lost := leaveLostCreate(t, api, run)
	api.advance(11 * time.Minute) // past the 10 minutes the API keeps keys

	out, err := run.run("apply", "-auto-approve", "-no-color")
	if err == nil {
		t.Fatalf("the apply issued a token beside the lost create's:\n%s", out)
	}
	expectContains(t, out, "may have issued a token", lost.ID, "Terraform issues no second token", "terraform state rm")
	if active := activeLost(api); len(active) != 1 || active[0].ID != lost.ID {
		t.Fatalf("active tokens named lost: %v, want only the lost create's %s", active, lost.ID)
	}
	if id, _ := run.stateAttr("cmdop_fleet_token.t", "id").(string); !strings.HasPrefix(id, "pending-") {
		t.Fatalf("the state holds %q, want the placeholder kept", id)
	}
	// With the lost token revoked by hand, the placeholder goes and one
	// token is issued.
	if err := api.admin.RevokeToken(t.Context(), api.FleetID(), lost.ID); err != nil {
		t.Fatal(err)
	}
	out = run.must("apply", "-auto-approve", "-no-color")
	expectContains(t, out, "Nothing to revoke for the failed create", "1 added")
	if active := activeLost(api); len(active) != 1 {
		t.Fatalf("%d active tokens named lost, want 1", len(active))
	}
}

// A timeout stored in state never blocks a destroy: a delete timeout of
// 1ns written by an older provider falls back to the default once the
// configuration's timeouts are gone.
func TestAccFleetToken_stateOnlyTimeoutNeverBlocksDestroy(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := newCLIRun(t, api, map[string]string{"main.tf": `
resource "cmdop_fleet_token" "t" {
  name   = "timed"
  scopes = ["machines:read"]
  timeouts {
    delete = "5m"
  }
}`})
	run.must("apply", "-auto-approve", "-no-color")
	id := as[string](t, run.stateAttr("cmdop_fleet_token.t", "id"))
	run.editState("cmdop_fleet_token.t", func(a map[string]any) {
		a["timeouts"] = map[string]any{"create": nil, "read": nil, "delete": "1ns"} // what an older provider accepted
	})
	if err := os.WriteFile(filepath.Join(run.dir, "main.tf"), []byte(`
resource "cmdop_fleet_token" "t" {
  name   = "timed"
  scopes = ["machines:read"]
}`), 0o600); err != nil {
		t.Fatal(err)
	}
	run.must("destroy", "-auto-approve", "-no-color")
	if tok := api.token(api.FleetID(), id); tok.Status != cmdopapi.StatusRevoked {
		t.Fatalf("the token is %s after destroy, want revoked", tok.Status)
	}
}

// A fleet change says so: switching the provider's default fleet moves no
// existing token, and setting fleet_id to another fleet is a replacement
// that a warning naming both fleets explains.
func TestAccFleetToken_fleetChangeSaysSo(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	if _, err := api.srv.AddFleet("staging"); err != nil {
		t.Fatal(err)
	}
	run := newCLIRun(t, api, map[string]string{"main.tf": `
resource "cmdop_fleet_token" "t" {
  name   = "ci"
  scopes = ["machines:read"]
}`})
	run.must("apply", "-auto-approve", "-no-color")
	id := as[string](t, run.stateAttr("cmdop_fleet_token.t", "id"))
	writes := api.writes()
	staging := []string{"CMDOP_FLEET_ID=staging"}
	for _, args := range [][]string{{"plan", "-no-color"}, {"apply", "-auto-approve", "-no-color"}} {
		out, err := run.runEnv(staging, args...)
		if err != nil {
			t.Fatalf("terraform %v: %v\n%s", args, err, out)
		}
		expectContains(t, out, "No changes.")
		expectNotContains(t, out, "forces replacement")
	}
	if w := api.writes() - writes; w != 0 {
		t.Fatalf("switching CMDOP_FLEET_ID made %d writes, want 0", w)
	}
	if tok := api.token(api.FleetID(), id); tok.Status != cmdopapi.StatusActive {
		t.Fatalf("the token in the original fleet is %s, want active", tok.Status)
	}
	if got := run.stateAttr("cmdop_fleet_token.t", "fleet_id"); got != api.FleetID() {
		t.Fatalf("fleet_id in state is %v, want %s", got, api.FleetID())
	}

	// A new token takes the provider's default fleet.
	if err := os.WriteFile(filepath.Join(run.dir, "more.tf"), []byte(`
resource "cmdop_fleet_token" "n" {
  name   = "new"
  scopes = ["machines:read"]
}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := run.runEnv(staging, "apply", "-auto-approve", "-no-color"); err != nil {
		t.Fatal(err)
	}
	if got := run.stateAttr("cmdop_fleet_token.n", "fleet_id"); got != "staging" {
		t.Fatalf("the new token's fleet_id is %v, want staging", got)
	}

	// A configured move is a replacement, with a warning naming both fleets.
	if err := os.WriteFile(filepath.Join(run.dir, "main.tf"), []byte(`
resource "cmdop_fleet_token" "t" {
  fleet_id = "staging"
  name     = "ci"
  scopes   = ["machines:read"]
}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := run.must("plan", "-no-color")
	expectContains(t, out, "moves to another fleet and will be replaced",
		`fleet_id changes from "`+api.FleetID()+`" to "staging"`, "forces replacement")
}
