package provider_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// The README's quickstart, as written: after `make install-dev`
// (scripts/install-dev.sh) and the export line it prints,
// `cd examples/quickstart && terraform apply` works with no init and no
// registry, on a copy of the directory as a fresh clone has it. The API
// then holds the quickstart's two tokens, and the destroy revokes them.
func TestAccReadmeQuickstart_afterInstallDev(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		t.Skip("TF_ACC_TERRAFORM_PATH is not set; run through make test")
	}
	root := localtest.RepoRoot()
	home := t.TempDir()
	install := exec.Command("bash", filepath.Join(root, "scripts", "install-dev.sh"), filepath.Join(home, "dev"))
	install.Dir = root
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("make install-dev: %v\n%s", err, out)
	} else {
		expectContains(t, string(out), "export TF_CLI_CONFIG_FILE="+filepath.Join(home, "dev", "cmdop-dev.tfrc"))
	}
	dir := filepath.Join(home, "quickstart")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(root, "examples", "quickstart"))); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(tf, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"TF_CLI_CONFIG_FILE="+filepath.Join(home, "dev", "cmdop-dev.tfrc"),
			"HOME="+home, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
			"CMDOP_API_BASE_URL="+api.URL, "CMDOP_TOKEN="+api.secret, "CMDOP_FLEET_ID="+api.FleetID())
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("terraform %v: %v\n%s", args, err, out.String())
		}
	}
	run("apply", "-auto-approve", "-input=false", "-no-color")
	for _, c := range []struct{ fleet, name string }{{api.FleetID(), "quickstart-ci"}, {"", "quickstart-cli"}} {
		active := 0
		for _, tok := range api.tokensNamed(c.fleet, c.name) {
			if tok.Status == "active" {
				active++
			}
		}
		if active != 1 {
			t.Errorf("after the quickstart's apply, %d tokens named %q are active, want 1", active, c.name)
		}
	}
	run("destroy", "-auto-approve", "-input=false", "-no-color")
	for _, c := range []struct{ fleet, name string }{{api.FleetID(), "quickstart-ci"}, {"", "quickstart-cli"}} {
		for _, tok := range api.tokensNamed(c.fleet, c.name) {
			if tok.Status == "active" {
				t.Errorf("after the destroy, token %s (%q) is still active", tok.ID, c.name)
			}
		}
	}
}
