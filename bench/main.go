// Command bench measures how terraform-provider-cmdop's plan, apply and
// destroy scale with the number of tokens, side by side with two floors:
// terraform_data (Terraform's own cost: no provider at all) and the plugin
// floor (bench/floor: a framework provider with exactly cmdop_fleet_token's
// schema that does no I/O). It also measures how the cmdop_audit_events
// data source reads 10,000 events. It drives the real Terraform CLI against
// a fresh cmdop-local for every (N, latency) pair, prints Markdown tables
// and writes bench/scaling.svg; see bench/README.md.
//
//	make bench BENCH_FLAGS='[-n "100 500 1000"] [-latency "0ms 20ms"] [-repeat 1] [-audit-events 10000]'
//
// It is its own Go module (bench/go.mod); make bench builds it there and
// runs it from the repository's root.
//
// BENCH_N, BENCH_LATENCY, BENCH_REPEAT, BENCH_PLAN_REPEAT and
// BENCH_AUDIT_EVENTS set the flags' defaults. The goals it checks are
// informational: it exits 0 whether they pass or not, and non-zero only when
// the benchmark itself could not run.
//
// Files: config.go (flags), scenarios.go (configurations, HCL, builds),
// measure.go (timed runs), report.go (tables, goals), plot.go (the SVG),
// machine.go, proc.go (process groups, /proc sampling), local.go.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	killAll()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is one run's shared state.
type bench struct {
	cfg     *config
	work    string
	local   string // the built cmdop-local binary
	baseEnv []string
	out     io.Writer
	turn    int // measure's rotation of the configurations' order
}

func run(ctx context.Context, args []string, out io.Writer) (err error) {
	cfg, err := parseConfig(args)
	if err != nil {
		return err
	}
	if cfg.replot != "" {
		return replot(cfg)
	}
	work, err := os.MkdirTemp("", "cmdop-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if cfg.keep || err != nil {
			fmt.Fprintf(out, "\nWorking directory kept: %s\n", work)
			return
		}
		_ = os.RemoveAll(work)
	}()
	b := &bench{cfg: cfg, work: work, out: out}

	machine := machineInfo(ctx, cfg.tfBin)
	fmt.Fprintf(out, "# cmdop provider scaling benchmark\n\n")
	fmt.Fprintf(out, "Command: %s\n", commandLine(cfg))
	fmt.Fprintf(out, "Machine: %s\n", machine)
	fmt.Fprintf(out, "Source: %s\n\n", sourceInfo(ctx, cfg.root))
	if err := b.build(ctx); err != nil {
		return err
	}

	res := &results{Machine: machine, Command: commandLine(cfg), Parallelism: cfg.parallelism, Repeat: cfg.repeat, PlanRepeat: cfg.planRepeat}
	fail := func(what string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", what, err))
		fmt.Fprintf(out, "!! %s: %v\n", what, err)
		return nil
	}
	if baseline, err := b.baseline(ctx); err != nil {
		if err := fail("baseline", err); err != nil {
			return err
		}
	} else {
		res.Baseline = &baseline
	}
	for _, lat := range cfg.latencies {
		for _, n := range cfg.ns {
			rows, err := b.combo(ctx, n, lat)
			res.Rows = append(res.Rows, rows...)
			if err != nil {
				if err := fail(fmt.Sprintf("N=%d latency=%s", n, fmtLat(lat)), err); err != nil {
					return err
				}
			}
		}
	}
	if cfg.auditEvents > 0 {
		audits, err := b.audit(ctx)
		res.Audit = audits
		if err != nil {
			if err := fail("audit", err); err != nil {
				return err
			}
		}
	}
	res.LoadAfter = loadavg()

	report(out, cfg, res)
	if cfg.svgOut != "" {
		if err := writePlot(cfg, res, cfg.svgOut); err != nil {
			fmt.Fprintf(out, "\n!! %s: %v\n", cfg.svgOut, err)
		} else {
			fmt.Fprintf(out, "\nWrote %s\n", cfg.svgOut)
		}
	}
	if cfg.jsonOut != "" {
		bs, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.jsonOut, bs, 0o644); err != nil {
			return err
		}
	}
	if len(res.Errors) > 0 {
		fmt.Fprintf(out, "\nThe benchmark hit %d error(s); the logs are in %s.\n", len(res.Errors), filepath.Clean(work))
		cfg.keep = true
	}
	return nil
}
