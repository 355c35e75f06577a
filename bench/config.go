package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// config is what the flags and BENCH_* variables ask for.
type config struct {
	ns          []int
	latencies   []time.Duration
	parallelism int
	repeat      int
	planRepeat  int
	auditEvents int
	keep        bool
	tfBin       string
	jsonOut     string
	svgOut      string
	replot      string
	root        string
}

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}

func parseConfig(args []string) (*config, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	nFlag := fs.String("n", envOr("BENCH_N", "100 500 1000"), "token counts, space- or comma-separated (env BENCH_N)")
	latFlag := fs.String("latency", envOr("BENCH_LATENCY", "0ms 20ms"), "cmdop-local latencies (env BENCH_LATENCY)")
	repeatDefault, _ := strconv.Atoi(envOr("BENCH_REPEAT", "1"))
	planRepeatDefault, _ := strconv.Atoi(envOr("BENCH_PLAN_REPEAT", "3"))
	auditDefault, _ := strconv.Atoi(envOr("BENCH_AUDIT_EVENTS", "10000"))
	c := &config{root: root}
	fs.IntVar(&c.parallelism, "parallelism", 10, "terraform -parallelism")
	fs.IntVar(&c.repeat, "repeat", repeatDefault, "apply/plan/destroy cycles per (N, latency); the median wall time is reported (env BENCH_REPEAT)")
	fs.IntVar(&c.planRepeat, "plan-repeat", planRepeatDefault, "no-op plans per cycle (plans change nothing, so they are cheap to repeat); the median wall time is reported (env BENCH_PLAN_REPEAT)")
	fs.IntVar(&c.auditEvents, "audit-events", auditDefault, "audit events to generate and read with cmdop_audit_events; 0 skips that part (env BENCH_AUDIT_EVENTS)")
	fs.BoolVar(&c.keep, "keep", false, "keep the working directory (logs, states) instead of deleting it")
	fs.StringVar(&c.tfBin, "terraform", envOr("TERRAFORM", filepath.Join(root, "bin", "terraform")), "Terraform CLI")
	fs.StringVar(&c.jsonOut, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&c.replot, "replot", "", "draw the plot (-svg) from this -json file of an earlier run, and run nothing")
	fs.StringVar(&c.svgOut, "svg", envOr("BENCH_SVG", filepath.Join(root, "bench", "scaling.svg")), "write the scaling plot here; \"-\" skips it (env BENCH_SVG)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.svgOut == "-" {
		c.svgOut = ""
	}
	for f := range strings.FieldsFuncSeq(*nFlag, isSep) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad N %q", f)
		}
		c.ns = append(c.ns, n)
	}
	for f := range strings.FieldsFuncSeq(*latFlag, isSep) {
		d, err := time.ParseDuration(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("bad latency %q", f)
		}
		c.latencies = append(c.latencies, d)
	}
	if len(c.ns) == 0 || len(c.latencies) == 0 || c.repeat < 1 || c.planRepeat < 1 || c.parallelism < 1 {
		return nil, errors.New("need at least one N, one latency, -repeat >= 1, -plan-repeat >= 1 and -parallelism >= 1")
	}
	slices.Sort(c.ns)
	c.ns = slices.Compact(c.ns)
	if _, err := os.Stat(c.tfBin); err != nil {
		return nil, fmt.Errorf("terraform CLI: %w (make terraform builds it)", err)
	}
	return c, nil
}

func isSep(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' }

// moduleRoot finds the directory holding go.mod, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from the repository")
		}
		dir = parent
	}
}

// commandLine is the make invocation that repeats this run.
func commandLine(cfg *config) string {
	ns := make([]string, len(cfg.ns))
	for i, n := range cfg.ns {
		ns[i] = strconv.Itoa(n)
	}
	ls := make([]string, len(cfg.latencies))
	for i, l := range cfg.latencies {
		ls[i] = fmtLat(l)
	}
	return fmt.Sprintf("BENCH_N=%q BENCH_LATENCY=%q BENCH_REPEAT=%d BENCH_PLAN_REPEAT=%d BENCH_AUDIT_EVENTS=%d make bench   (parallelism %d)",
		strings.Join(ns, " "), strings.Join(ls, " "), cfg.repeat, cfg.planRepeat, cfg.auditEvents, cfg.parallelism)
}
