package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

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

// cliVersionAtLeast reports whether the CLI the tests drive is at least
// major.minor (OpenTofu reports its own version, 1.11 or later).
func cliVersionAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	out, err := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), "version", "-json").Output()
	if err != nil {
		t.Fatalf("%s version -json: %v", os.Getenv("TF_ACC_TERRAFORM_PATH"), err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("parsing %q: %v", out, err)
	}
	var maj, mnr int
	if _, err := fmt.Sscanf(v.Version, "%d.%d", &maj, &mnr); err != nil {
		t.Fatalf("parsing the version %q: %v", v.Version, err)
	}
	return maj > major || (maj == major && mnr >= minor)
}

// skipUnlessQuery skips a CLI test unless the CLI under test is Terraform
// 1.14 or later, which has list resources, `terraform query` and actions.
func skipUnlessQuery(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		t.Skip("TF_ACC_TERRAFORM_PATH is not set; run through make test")
	}
	if cliIsOpenTofu() || !cliVersionAtLeast(t, 1, 14) {
		t.Skip("list resources and actions need Terraform 1.14 or later (OpenTofu has neither)")
	}
}

// skipBelow116 skips a CLI test unless the CLI is Terraform 1.16 or later,
// which added action_trigger's on_failure and the destroy events.
func skipBelow116(t *testing.T) {
	t.Helper()
	skipUnlessQuery(t)
	if !cliVersionAtLeast(t, 1, 16) {
		t.Skip("action_trigger on_failure and before_destroy/after_destroy need Terraform 1.16 or later")
	}
}
