package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// attrs returns a resource's attributes from the Terraform state.
func attrs(s *terraform.State, addr string) (map[string]string, error) {
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return nil, fmt.Errorf("%s is not in the state", addr)
	}
	return rs.Primary.Attributes, nil
}

// capture stores a state attribute of addr into *dst.
func capture(addr, key string, dst *string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		a, err := attrs(s, addr)
		if err != nil {
			return err
		}
		*dst = a[key]
		if *dst == "" {
			return fmt.Errorf("%s.%s is empty", addr, key)
		}
		return nil
	}
}

// secretWorks proves a secret authenticates against the API, and
// secretRejected that it gets a 401.
func secretWorks(url, secret string) error {
	c, err := cmdop.New(cmdop.Config{BaseURL: url, Token: secret, MaxRetries: -1})
	if err != nil {
		return err
	}
	_, err = c.Account(context.Background()) // who-am-I: any valid token may call it
	return err
}

func secretRejected(url, secret string) error {
	err := secretWorks(url, secret)
	if apiErr, ok := cmdop.AsError(err); !ok || apiErr.Code != cmdopapi.CodeAuth {
		return fmt.Errorf("expected the secret to be rejected with 401, got %v", err)
	}
	return nil
}

// firstEvent finds the time of the first audit event of action on tokenID.
func firstEvent(api *testAPI, action, tokenID string) (time.Time, error) {
	events, _, err := api.admin.AuditEvents(context.Background(), cmdop.AuditQuery{TokenID: tokenID, Actions: []string{action}}, 100)
	if err != nil {
		return time.Time{}, err
	}
	if len(events) == 0 {
		return time.Time{}, fmt.Errorf("no %s event for token %s", action, tokenID)
	}
	return events[len(events)-1].Time, nil
}

// createToken issues a token through the API as the admin; nil scopes
// means machines:read.
func (a *testAPI) createToken(fleetID, name string, scopes []string) *cmdopapi.Token {
	a.t.Helper()
	if scopes == nil {
		scopes = []string{"machines:read"}
	}
	tok, err := a.admin.CreateToken(context.Background(), fleetID, cmdopapi.CreateTokenRequest{Name: name, Scopes: scopes}, "")
	if err != nil {
		a.t.Fatalf("creating token %s: %v", name, err)
	}
	return tok
}

func splitLines(s string) []string { return strings.Split(s, "\n") }

// advance moves the API server's clock forward.
func (a *testAPI) advance(d time.Duration) {
	a.t.Helper()
	if _, err := a.srv.AdvanceClock(d); err != nil {
		a.t.Fatalf("advancing the server clock: %v", err)
	}
}

// setFaults replaces the API's fault injection.
func (a *testAPI) setFaults(cfg cmdoplocal.FaultConfig) {
	a.t.Helper()
	if err := a.srv.SetFaults(cfg); err != nil {
		a.t.Fatalf("setting faults: %v", err)
	}
}

// phrases matches output holding each phrase in order, however the CLI
// wrapped its lines.
func phrases(want ...string) *regexp.Regexp {
	parts := make([]string, len(want))
	for i, w := range want {
		parts[i] = strings.Join(strings.Fields(regexp.QuoteMeta(w)), `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(parts, ".*"))
}

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

// The version gates: which CLI has which feature. Plugin-testing steps take
// the *VersionChecks; tests that drive the CLI themselves call the skip
// functions.

// Ephemeral resources need Terraform 1.10 or OpenTofu 1.11 (which reports
// its own version, 1.11 or later, to the harness): on Terraform 1.5.7 these
// tests are skipped.
var ephemeralVersionChecks = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)}

// Resource identity needs Terraform 1.12 or OpenTofu 1.12: below that, the
// harness fails an identity import step instead of skipping it.
var identityVersionChecks = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)}

// List resources and actions need Terraform 1.14; OpenTofu has neither
// (1.12.6 reports 1.12, but a later OpenTofu would pass a version check).
var queryVersionChecks = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_14_0), skipOnOpenTofu{}}

// skipOnOpenTofu skips a test when the CLI under test is OpenTofu.
type skipOnOpenTofu struct{}

func (skipOnOpenTofu) CheckTerraformVersion(_ context.Context, _ tfversion.CheckTerraformVersionRequest, resp *tfversion.CheckTerraformVersionResponse) {
	if cliIsOpenTofu() {
		resp.Skip = "OpenTofu has no list resources or actions: skipping test"
	}
}

var cliIsOpenTofu = sync.OnceValue(func() bool {
	out, _ := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), "version").Output()
	return strings.HasPrefix(string(out), "OpenTofu")
})

// cliVersion is the version of the CLI the tests drive, as it reports it
// (OpenTofu reports its own, 1.11 or later), and its major and minor.
func cliVersion(t *testing.T) (version string, major, minor int) {
	t.Helper()
	bin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	out, err := exec.Command(bin, "version", "-json").Output()
	if err != nil {
		t.Fatalf("%s version -json: %v", bin, err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("parsing %q: %v", out, err)
	}
	if _, err := fmt.Sscanf(v.Version, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("parsing the version %q: %v", v.Version, err)
	}
	return v.Version, major, minor
}

// cliAtLeast reports whether the CLI the tests drive is at least
// 1.minor (or a later major version).
func cliAtLeast(t *testing.T, minor int) bool {
	t.Helper()
	_, maj, mnr := cliVersion(t)
	return maj > 1 || (maj == 1 && mnr >= minor)
}

// skipUnlessQuery skips a CLI test unless the CLI under test is Terraform
// 1.14 or later, which has list resources, `terraform query` and actions.
func skipUnlessQuery(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		t.Skip("TF_ACC_TERRAFORM_PATH is not set; run through make test")
	}
	if cliIsOpenTofu() || !cliAtLeast(t, 14) {
		t.Skip("list resources and actions need Terraform 1.14 or later (OpenTofu has neither)")
	}
}

// skipBelow116 skips a CLI test unless the CLI is Terraform 1.16 or later,
// which added action_trigger's on_failure and the destroy events.
func skipBelow116(t *testing.T) {
	t.Helper()
	skipUnlessQuery(t)
	if !cliAtLeast(t, 16) {
		t.Skip("action_trigger on_failure and before_destroy/after_destroy need Terraform 1.16 or later")
	}
}
