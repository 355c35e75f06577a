package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// machineInfo describes the machine: CPUs, CPU model, memory, Go and
// Terraform versions, and the load average.
func machineInfo(ctx context.Context, tfBin string) string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "unknown memory"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(rest); len(f) > 0 {
					kb, _ := strconv.ParseFloat(f[0], 64)
					mem = fmt.Sprintf("%.1f GiB RAM", kb/1024/1024)
				}
			}
		}
	}
	goVer := runtime.Version()
	if b, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output(); err == nil {
		goVer = strings.TrimSpace(string(b))
	}
	tfVer := "terraform ?"
	if b, err := exec.CommandContext(ctx, tfBin, "version").Output(); err == nil {
		tfVer = strings.SplitN(strings.TrimSpace(string(b)), "\n", 2)[0]
	}
	return fmt.Sprintf("%d CPUs (nproc), %s, %s, %s, %s, %s/%s, load average at start %s",
		runtime.NumCPU(), model, mem, goVer, tfVer, runtime.GOOS, runtime.GOARCH, loadavg())
}

// sourceInfo names the tree the provider is built from: its commit, and
// whether it has uncommitted changes.
func sourceInfo(ctx context.Context, root string) string {
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty")
	cmd.Dir = root
	b, err := cmd.Output()
	if err != nil {
		return "not a git checkout"
	}
	return "git " + strings.TrimSpace(string(b))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
