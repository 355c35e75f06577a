package provider_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// The rotation recipe in examples/rotation-recipe runs against cmdop-local:
// its check block passes while the previous token is idle after the
// rollout, and warns, naming the rollout and the latest use, once the
// previous token is used again.
func TestAccRotationRecipe(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t) // skips unless TF_ACC is set
	mirror := filepath.Join(localtest.RepoRoot(), "bin", "mirror", "registry.terraform.io", "hashicorp", "time")
	if _, err := os.Stat(mirror); err != nil {
		t.Fatalf("hashicorp/time is not in the local provider mirror (%v): run make tools", err)
	}
	src, err := os.ReadFile(filepath.Join(localtest.RepoRoot(), "examples", "rotation-recipe", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	run := newCLIRun(t, api, map[string]string{"main.tf": string(src), "versions.tf": ""})
	run.must("init", "-no-color", "-input=false")
	out := run.must("apply", "-auto-approve", "-no-color")
	expectNotContains(t, out, "Check block assertion failed")
	oldSecret := secretOutput(t, run)

	// Rotate: a new time_rotating id replaces the token, new before old.
	out = run.must("apply", "-auto-approve", "-no-color", "-replace=time_rotating.deploy")
	expectContains(t, out, "cmdop_fleet_token.deploy (deposed object")
	expectNotContains(t, out, "Check block assertion failed")
	if newSecret := secretOutput(t, run); newSecret == oldSecret {
		t.Fatal("the rotation did not issue a new secret")
	}
	if err := secretWorks(api.URL, oldSecret); err != nil {
		t.Fatalf("the previous token must keep working during its grace period: %v", err)
	}

	// A consumer still using the old secret after the rollout: the check warns.
	out = run.must("plan", "-no-color")
	expectContains(t, out, "Check block assertion failed", "A previous deploy token was still used after the rollout at", "latest use 20")

	// A fresh copy of the recipe, against the same fleet, while the first
	// copy's previous token is still in use: its first apply and plan warn
	// about nothing (the check names only its own configuration's tokens),
	// and its plan is stable.
	// Two minutes later by the API's clock: the recipe tells its own
	// previous token by an expiry window on the API's timestamps, which two
	// configurations applied moments apart cannot pass apart: on OpenTofu,
	// without this, the fresh copy took the first copy's old token for its
	// own and warned.
	api.advance(2 * time.Minute)
	fresh := newCLIRun(t, api, map[string]string{"main.tf": string(src), "versions.tf": ""})
	fresh.must("init", "-no-color", "-input=false")
	out = fresh.must("apply", "-auto-approve", "-no-color")
	expectNotContains(t, out, "Check block assertion failed")
	if err := secretWorks(api.URL, oldSecret); err != nil { // the first copy's consumer, still on the old secret
		t.Fatal(err)
	}
	out, err = fresh.run("plan", "-detailed-exitcode", "-no-color")
	if err != nil {
		t.Fatalf("the fresh copy's plan is not empty (exit 0): %v\n%s", err, out)
	}
	expectNotContains(t, out, "Check block assertion failed")
}

func secretOutput(t *testing.T, run *cliRun) string {
	t.Helper()
	var out struct {
		Secret struct{ Value string } `json:"deploy_secret"`
	}
	if err := json.Unmarshal([]byte(run.must("output", "-json")), &out); err != nil || out.Secret.Value == "" {
		t.Fatalf("reading the deploy_secret output: %v", err)
	}
	return out.Secret.Value
}

func expectNotContains(t *testing.T, out, unwanted string) {
	t.Helper()
	if containsFlat(out, unwanted) {
		t.Fatalf("the output contains %q:\n%s", unwanted, out)
	}
}
