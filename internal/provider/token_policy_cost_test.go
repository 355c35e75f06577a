package provider_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTokenPolicyPlanCost prints what a policy costs a no-op plan of 100
// tokens: without one, with one they meet, and with one each breaks (one
// warning per token). It measures, and asserts nothing on time; it runs
// only with CMDOP_MEASURE_POLICY=1:
//
//	CMDOP_MEASURE_POLICY=1 TF_ACC=1 TF_ACC_TERRAFORM_PATH=$PWD/bin/terraform-1.16.0 \
//	  TF_CLI_CONFIG_FILE=$PWD/bin/terraformrc go test ./internal/provider -run TestTokenPolicyPlanCost -v -count=1
func TestTokenPolicyPlanCost(t *testing.T) {
	if os.Getenv("CMDOP_MEASURE_POLICY") == "" {
		t.Skip("a measurement: set CMDOP_MEASURE_POLICY=1")
	}
	api := newTestAPI(t)
	n := 100
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(fleetToken(fmt.Sprintf("t%d", i), `expiry = "never"`, fmt.Sprintf(`name = "legacy-%d"`, i)))
	}
	run := policyRun(t, api, "", b.String())
	run.must("apply", "-auto-approve", "-no-color", "-parallelism=20")
	timeIt := func(label, provider string) {
		if err := os.WriteFile(filepath.Join(run.dir, "main.tf"), []byte(provider+b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		run.must("plan", "-no-color") // warm
		var best time.Duration
		for i := 0; i < 3; i++ {
			start := time.Now()
			out := run.must("plan", "-no-color")
			d := time.Since(start)
			if best == 0 || d < best {
				best = d
			}
			if i == 0 {
				t.Logf("%s: %d policy warnings", label, strings.Count(out, "breaks the token policy ("))
			}
		}
		t.Logf("%s: best of 3 no-op plans of %d tokens: %v", label, n, best)
	}
	timeIt("no policy", "")
	timeIt("compliant policy", "provider \"cmdop\" {\n  token_policy {\n    forbidden_scopes = [\"files:write\"]\n    name_pattern = \"^legacy-\"\n  }\n}\n")
	timeIt("broken policy (one warning per token)", "provider \"cmdop\" {\n  token_policy {\n    max_expiry = \"90d\"\n  }\n}\n")
}
