package provider_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// Some behaviour shows only in what the Terraform CLI prints, such as the
// warnings that explain a planned replacement, or the result of a check
// block. These tests run the real CLI on a built provider binary, through
// dev_overrides, as a user's terraform would.

var (
	buildOnce   sync.Once
	providerDir string
	buildErr    error
)

// providerBinaryDir builds the provider once per test run.
func providerBinaryDir(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		// Shared by every test of the run, so not a t.TempDir.
		providerDir, buildErr = os.MkdirTemp("", "cmdop-provider") //nolint:usetesting
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(providerDir, "terraform-provider-cmdop"), ".")
		cmd.Dir = localtest.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building the provider: %v\n%s", err, out)
			return
		}
		// terraform init still looks the provider up, dev_overrides or not:
		// a filesystem mirror beside the binary answers it, under both
		// registry hosts (OpenTofu reads "cmdop/cmdop" as registry.opentofu.org).
		platform := runtime.GOOS + "_" + runtime.GOARCH
		for _, host := range registryHosts {
			dir := filepath.Join(providerDir, "mirror", host, "cmdop", "cmdop", "0.0.1", platform)
			if buildErr = os.MkdirAll(dir, 0o755); buildErr != nil {
				return
			}
			if buildErr = os.Link(filepath.Join(providerDir, "terraform-provider-cmdop"), filepath.Join(dir, "terraform-provider-cmdop_v0.0.1")); buildErr != nil {
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return providerDir
}

var registryHosts = []string{"registry.terraform.io", "registry.opentofu.org"}

// cliRun is a Terraform working directory wired to one test API.
type cliRun struct {
	t   *testing.T
	dir string
	env []string
	log string // TF_LOG output, when enabled
}

func newCLIRun(t *testing.T, api *testAPI, files map[string]string) *cliRun {
	t.Helper()
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		t.Skip("TF_ACC_TERRAFORM_PATH is not set; run through make test")
	}
	dir := t.TempDir()
	if v, ok := files["versions.tf"]; ok && v == "" {
		delete(files, "versions.tf") // the configuration declares its own providers
	} else if !ok {
		files["versions.tf"] = "terraform {\n  required_providers {\n    cmdop = { source = \"cmdop/cmdop\" }\n  }\n}\n"
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rc := filepath.Join(dir, ".terraformrc")
	mirror := filepath.Join(localtest.RepoRoot(), "bin", "mirror")
	// Every entry for both registry hosts: Terraform resolves "cmdop/cmdop"
	// on registry.terraform.io, OpenTofu on registry.opentofu.org.
	var overrides, ours, theirs []string
	for _, host := range registryHosts {
		overrides = append(overrides, fmt.Sprintf("    %q = %q", host+"/cmdop/cmdop", providerBinaryDir(t)))
		ours = append(ours, strconv.Quote(host+"/cmdop/cmdop"))
		theirs = append(theirs, strconv.Quote(host+"/hashicorp/*"))
	}
	config := fmt.Sprintf(`provider_installation {
  dev_overrides {
%s
  }
  filesystem_mirror {
    path    = %q
    include = [%s]
  }
  filesystem_mirror {
    path    = %q
    include = [%s]
  }
  direct {
    exclude = [%s, %s]
  }
}
`, strings.Join(overrides, "\n"), filepath.Join(providerBinaryDir(t), "mirror"), strings.Join(ours, ", "),
		mirror, strings.Join(theirs, ", "), strings.Join(ours, ", "), strings.Join(theirs, ", "))
	if err := os.WriteFile(rc, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cliRun{t: t, dir: dir, env: []string{
		"TF_CLI_CONFIG_FILE=" + rc,
		"TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1",
		"CMDOP_API_BASE_URL=" + api.URL,
		"CMDOP_TOKEN=" + api.secret,
		"CMDOP_FLEET_ID=" + api.FleetID(),
	}}
}

// withTraceLog turns on TF_LOG=TRACE for every later command, into a file.
func (c *cliRun) withTraceLog() {
	c.log = filepath.Join(c.dir, "terraform.log")
	c.env = append(c.env, "TF_LOG=TRACE", "TF_LOG_PROVIDER=TRACE", "TF_LOG_PATH="+c.log)
}

// run runs terraform with args and returns everything it printed.
func (c *cliRun) run(args ...string) (string, error) {
	c.t.Helper()
	return c.runEnv(nil, args...)
}

// runEnv is run with some environment variables replaced, such as a
// colleague's CMDOP_TOKEN: "KEY=value" entries.
func (c *cliRun) runEnv(env []string, args ...string) (string, error) {
	c.t.Helper()
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), args...)
	cmd.Dir = c.dir
	cmd.Env = append(append(os.Environ(), c.env...), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// must runs terraform and fails the test if it fails.
func (c *cliRun) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// expectContains checks for each phrase, ignoring how the CLI wrapped lines.
func expectContains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !containsFlat(out, w) {
			t.Fatalf("the output lacks %q:\n%s", w, out)
		}
	}
}

// containsFlat reports whether out holds phrase, however lines wrapped.
func containsFlat(out, phrase string) bool {
	return strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(phrase), " "))
}
