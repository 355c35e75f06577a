package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The three configurations measured side by side, in the order they run.
const (
	tfData = "terraform_data" // built into Terraform: no provider at all
	floor  = "floor"          // bench/floor: our schema, no I/O
	cmdop  = "cmdop"          // the provider under test
)

var configurations = []string{tfData, floor, cmdop}

// hcl is the configuration of n resources of each kind.
func hcl(configuration string, n int) string {
	switch configuration {
	case tfData:
		return fmt.Sprintf(`resource "terraform_data" "t" {
  count = %d
  input = "x${count.index}"
}
`, n)
	case floor:
		return fmt.Sprintf(`terraform {
  required_providers {
    floor = { source = "cmdop/floor" }
  }
}

resource "floor_fleet_token" "t" {
  count  = %d
  name   = "bench-${count.index}"
  scopes = ["machines:read"]
}
`, n)
	default:
		return providerBlock + fmt.Sprintf(`
resource "cmdop_fleet_token" "t" {
  count  = %d
  name   = "bench-${count.index}"
  scopes = ["machines:read"]
}
`, n)
	}
}

const providerBlock = `terraform {
  required_providers {
    cmdop = { source = "cmdop/cmdop" }
  }
}
`

func auditConfig(maxResults int) string {
	return providerBlock + fmt.Sprintf(`
data "cmdop_audit_events" "all" {
  actions     = ["token.used"]
  max_results = %d
}

output "n" {
  value = length(data.cmdop_audit_events.all.events)
}

output "truncated" {
  value = data.cmdop_audit_events.all.truncated
}
`, maxResults)
}

// build compiles the provider, the plugin floor and cmdop-local once, and
// writes the CLI configuration that points Terraform at the two providers
// (dev_overrides, so no terraform init is needed).
func (b *bench) build(ctx context.Context) error {
	b.local = filepath.Join(b.work, "cmdop-local")
	overrides := ""
	// The floor is in the benchmark's own module (bench/go.mod), the rest in the provider's.
	for _, c := range []struct{ configuration, dir, pkg string }{{cmdop, ".", "."}, {floor, "bench", "./floor"}, {"", ".", "./cmd/cmdop-local"}} {
		out := b.local
		if c.configuration != "" {
			dir := filepath.Join(b.work, "plugins-"+c.configuration)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			out = filepath.Join(dir, "terraform-provider-"+c.configuration)
			overrides += fmt.Sprintf("    \"registry.terraform.io/cmdop/%s\" = %q\n", c.configuration, dir)
		}
		start := time.Now()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, c.pkg)
		cmd.Dir = filepath.Join(b.cfg.root, c.dir)
		if outb, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build -o %s %s: %v\n%s", out, c.pkg, err, outb)
		}
		fmt.Fprintf(b.out, "built %s in %.1fs\n", filepath.Base(out), time.Since(start).Seconds())
	}
	rc := filepath.Join(b.work, "terraformrc")
	cli := "provider_installation {\n  dev_overrides {\n" + overrides + "  }\n  direct {}\n}\n"
	if err := os.WriteFile(rc, []byte(cli), 0o644); err != nil {
		return err
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "TF_") || strings.HasPrefix(k, "CMDOP_") || k == "CHECKPOINT_DISABLE" {
			continue
		}
		b.baseEnv = append(b.baseEnv, kv)
	}
	b.baseEnv = append(b.baseEnv, "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	fmt.Fprintln(b.out)
	return nil
}
