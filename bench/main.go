// Command bench measures how terraform-provider-cmdop's plan, apply and
// destroy scale with the number of tokens, against Terraform's own floor
// (the same number of terraform_data resources, no provider at all), and how
// the cmdop_audit_events data source reads 10,000 events. It drives the real
// Terraform CLI against a fresh cmdop-local for every (N, latency) pair and
// prints Markdown tables; see bench/README.md.
//
//	go run ./bench [-n "100 500 1000"] [-latency "0ms 20ms"] [-repeat 1] [-audit-events 10000]
//
// BENCH_N, BENCH_LATENCY, BENCH_REPEAT and BENCH_AUDIT_EVENTS set the flags'
// defaults. The goals it checks are informational: it exits 0 whether they
// pass or not, and non-zero only when the benchmark itself could not run.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	ns          []int
	latencies   []time.Duration
	parallelism int
	repeat      int
	planRepeat  int
	auditEvents int
	pluginFloor bool
	keep        bool
	tfBin       string
	jsonOut     string
	root        string
}

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

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}

func parseConfig(args []string) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	nFlag := fs.String("n", envOr("BENCH_N", "100 500 1000"), "token counts, space- or comma-separated (env BENCH_N)")
	latFlag := fs.String("latency", envOr("BENCH_LATENCY", "0ms 20ms"), "cmdop-local latencies (env BENCH_LATENCY)")
	repeatDefault, _ := strconv.Atoi(envOr("BENCH_REPEAT", "1"))
	planRepeatDefault, _ := strconv.Atoi(envOr("BENCH_PLAN_REPEAT", "3"))
	auditDefault, _ := strconv.Atoi(envOr("BENCH_AUDIT_EVENTS", "10000"))
	c := &config{}
	fs.IntVar(&c.parallelism, "parallelism", 10, "terraform -parallelism")
	fs.IntVar(&c.repeat, "repeat", repeatDefault, "apply/plan/destroy cycles per (N, latency); the median wall time is reported (env BENCH_REPEAT)")
	fs.IntVar(&c.planRepeat, "plan-repeat", planRepeatDefault, "no-op plans per cycle (plans change nothing, so they are cheap to repeat); the median wall time is reported (env BENCH_PLAN_REPEAT)")
	fs.IntVar(&c.auditEvents, "audit-events", auditDefault, "audit events to generate and read with cmdop_audit_events; 0 skips that part (env BENCH_AUDIT_EVENTS)")
	pf := strings.ToLower(envOr("BENCH_PLUGIN_FLOOR", ""))
	fs.BoolVar(&c.pluginFloor, "plugin-floor", pf == "1" || pf == "true" || pf == "yes",
		"also measure N time_static resources of hashicorp/time (make tools puts it in bin/mirror): a plugin provider that calls no API (env BENCH_PLUGIN_FLOOR=1)")
	fs.BoolVar(&c.keep, "keep", false, "keep the working directory (logs, states) instead of deleting it")
	fs.StringVar(&c.tfBin, "terraform", envOr("TERRAFORM", ""), "Terraform CLI (default bin/terraform of the module)")
	fs.StringVar(&c.jsonOut, "json", "", "also write the results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
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

// bench is one run's shared state.
type bench struct {
	cfg      *config
	work     string
	provider string // the built provider binary
	local    string // the built cmdop-local binary
	timeVer  string // version of hashicorp/time in bin/mirror, with -plugin-floor
	baseEnv  []string
	out      io.Writer
}

func run(ctx context.Context, args []string, out io.Writer) (err error) {
	cfg, err := parseConfig(args)
	if err != nil {
		return err
	}
	if cfg.root, err = moduleRoot(); err != nil {
		return err
	}
	if cfg.tfBin == "" {
		cfg.tfBin = filepath.Join(cfg.root, "bin", "terraform")
	}
	if _, err := os.Stat(cfg.tfBin); err != nil {
		return fmt.Errorf("terraform CLI: %w (make terraform builds it)", err)
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
	baseline, err := b.baseline(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res.Errors = append(res.Errors, fmt.Sprintf("baseline: %v", err))
		fmt.Fprintf(out, "!! baseline: %v\n", err)
	} else {
		res.Baseline = &baseline
	}
	for _, lat := range cfg.latencies {
		for _, n := range cfg.ns {
			rows, err := b.combo(ctx, n, lat)
			res.Rows = append(res.Rows, rows...)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				res.Errors = append(res.Errors, fmt.Sprintf("N=%d latency=%s: %v", n, lat, err))
				fmt.Fprintf(out, "!! N=%d latency=%s: %v\n", n, lat, err)
			}
		}
	}
	if cfg.auditEvents > 0 {
		audits, err := b.audit(ctx)
		res.Audit = audits
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res.Errors = append(res.Errors, fmt.Sprintf("audit: %v", err))
			fmt.Fprintf(out, "!! audit: %v\n", err)
		}
	}
	res.LoadAfter = loadavg()

	report(out, cfg, res)
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
		fmt.Fprintf(out, "\nThe benchmark hit %d error(s); the logs are in %s.\n", len(res.Errors), work)
		cfg.keep = true
	}
	return nil
}

func commandLine(cfg *config) string {
	ns := make([]string, len(cfg.ns))
	for i, n := range cfg.ns {
		ns[i] = strconv.Itoa(n)
	}
	ls := make([]string, len(cfg.latencies))
	for i, l := range cfg.latencies {
		ls[i] = fmtLat(l)
	}
	pf := ""
	if cfg.pluginFloor {
		pf = "BENCH_PLUGIN_FLOOR=1 "
	}
	return fmt.Sprintf("BENCH_N=%q BENCH_LATENCY=%q BENCH_REPEAT=%d BENCH_PLAN_REPEAT=%d BENCH_AUDIT_EVENTS=%d %smake bench   (parallelism %d)",
		strings.Join(ns, " "), strings.Join(ls, " "), cfg.repeat, cfg.planRepeat, cfg.auditEvents, pf, cfg.parallelism)
}

// build compiles the provider and cmdop-local once, and writes the CLI
// configuration that points Terraform at the provider (dev_overrides).
func (b *bench) build(ctx context.Context) error {
	pluginDir := filepath.Join(b.work, "plugins")
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		return err
	}
	b.provider = filepath.Join(pluginDir, "terraform-provider-cmdop")
	b.local = filepath.Join(b.work, "cmdop-local")
	for _, c := range [][]string{
		{"go", "build", "-o", b.provider, "."},
		{"go", "build", "-o", b.local, "./cmd/cmdop-local"},
	} {
		start := time.Now()
		cmd := exec.CommandContext(ctx, c[0], c[1:]...)
		cmd.Dir = b.cfg.root
		if outb, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(c, " "), err, outb)
		}
		fmt.Fprintf(b.out, "built %s in %.1fs\n", filepath.Base(c[3]), time.Since(start).Seconds())
	}
	rc := filepath.Join(b.work, "terraformrc")
	cli := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"registry.terraform.io/cmdop/cmdop\" = %q\n  }\n  direct {}\n}\n", pluginDir)
	if b.cfg.pluginFloor {
		mirror := filepath.Join(b.cfg.root, "bin", "mirror")
		found, _ := filepath.Glob(filepath.Join(mirror, "registry.terraform.io", "hashicorp", "time", "*", runtime.GOOS+"_"+runtime.GOARCH, "terraform-provider-time_*"))
		if len(found) == 0 {
			return fmt.Errorf("-plugin-floor needs hashicorp/time in %s: run make tools", mirror)
		}
		b.timeVer = filepath.Base(filepath.Dir(filepath.Dir(found[0])))
		cli = fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"registry.terraform.io/cmdop/cmdop\" = %q\n  }\n"+
			"  filesystem_mirror {\n    path    = %q\n    include = [\"registry.terraform.io/hashicorp/time\"]\n  }\n"+
			"  direct {\n    exclude = [\"registry.terraform.io/hashicorp/time\"]\n  }\n}\n", pluginDir, mirror)
	}
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

const providerBlock = `terraform {
  required_providers {
    cmdop = { source = "cmdop/cmdop" }
  }
}
`

func tokensConfig(n int) string {
	return providerBlock + fmt.Sprintf(`
resource "cmdop_fleet_token" "t" {
  count  = %d
  name   = "bench-${count.index}"
  scopes = ["machines:read"]
}
`, n)
}

func floorConfig(n int) string {
	return fmt.Sprintf(`resource "terraform_data" "t" {
  count = %d
  input = "x${count.index}"
}
`, n)
}

func timeConfig(n int, version string) string {
	return fmt.Sprintf(`terraform {
  required_providers {
    time = { source = "hashicorp/time", version = %q }
  }
}

resource "time_static" "t" {
  count    = %d
  triggers = { k = "x${count.index}" }
}
`, version, n)
}

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

// Row is one operation at one (N, latency): the floor and the provider.
type Row struct {
	Op        string
	N         int
	Latency   time.Duration
	FloorWall []time.Duration
	CmdopWall []time.Duration
	FloorCPUs []time.Duration
	CmdopCPUs []time.Duration
	ProvCPUs  []time.Duration // the provider processes' share of CmdopCPUs
	Requests  int
	Writes    int
	ByRoute   map[string]int
	ProvRSSKB int64 // largest provider VmHWM over the repeats
	ProvProcs int
	TFRSSKB   int64 // terraform's own VmHWM in the cmdop run
	FloorRSS  int64 // terraform's VmHWM in the floor run
	// With -plugin-floor: N time_static resources of hashicorp/time.
	PluginWall   []time.Duration
	PluginCPUs   []time.Duration
	PluginProvKB int64
	Note         string
}

func (r Row) floor() time.Duration { return median(r.FloorWall) }
func (r Row) cmdop() time.Duration { return median(r.CmdopWall) }
func (r Row) ratio() float64 {
	if r.floor() <= 0 {
		return math.NaN()
	}
	return r.cmdop().Seconds() / r.floor().Seconds()
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

var ops = []string{"apply", "plan", "destroy"}

func tfArgs(op string, parallelism int) []string {
	p := fmt.Sprintf("-parallelism=%d", parallelism)
	switch op {
	case "apply":
		return []string{"apply", "-auto-approve", "-input=false", "-no-color", p}
	case "plan":
		return []string{"plan", "-input=false", "-no-color", "-detailed-exitcode", p}
	default:
		return []string{"destroy", "-auto-approve", "-input=false", "-no-color", p}
	}
}

// combo measures apply, no-op plan and destroy of n tokens and of n
// terraform_data resources, against a fresh cmdop-local with latency lat,
// in fresh working directories. Each floor command runs right before the
// matching provider command, so that both see the same machine load.
func (b *bench) combo(ctx context.Context, n int, lat time.Duration) ([]Row, error) {
	base := filepath.Join(b.work, fmt.Sprintf("n%d-%s", n, fmtLat(lat)))
	api, err := startLocal(ctx, b.local, lat, base+"-cmdop-local.log")
	if err != nil {
		return nil, err
	}
	defer api.stop()
	env := append(slices.Clone(b.baseEnv), api.env()...)
	d, err := b.prepare(ctx, base, n, env)
	if err != nil {
		return nil, err
	}

	rows := make([]Row, len(ops))
	for i, op := range ops {
		rows[i] = Row{Op: op, N: n, Latency: lat}
	}
	fmt.Fprintf(b.out, "== N=%d latency=%s\n", n, fmtLat(lat))
	for rep := range b.cfg.repeat {
		for i, op := range ops {
			times := 1
			if op == "plan" {
				times = b.cfg.planRepeat
			}
			for k := range times {
				if err := b.measure(ctx, api, &rows[i], d, env, filepath.Join(base, fmt.Sprintf("%s-%d-%d", op, rep+1, k+1))); err != nil {
					return rows[:i], err
				}
			}
		}
	}
	return rows, nil
}

// dirs are the working directories of one (N, latency): the floor, the
// provider, and (with -plugin-floor, else "") hashicorp/time.
type dirs struct{ floor, cmdop, plugin string }

// prepare makes fresh working directories under base for n resources. The
// time_static one is initialised from bin/mirror (not timed).
func (b *bench) prepare(ctx context.Context, base string, n int, env []string) (dirs, error) {
	d := dirs{floor: filepath.Join(base, "floor"), cmdop: filepath.Join(base, "cmdop")}
	configs := map[string]string{d.floor: floorConfig(n), d.cmdop: tokensConfig(n)}
	if b.cfg.pluginFloor {
		d.plugin = filepath.Join(base, "time")
		configs[d.plugin] = timeConfig(n, b.timeVer)
	}
	for dir, cfg := range configs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return d, err
		}
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg), 0o644); err != nil {
			return d, err
		}
	}
	if d.plugin != "" {
		r, err := runTerraform(ctx, b.cfg.tfBin, d.plugin, env, filepath.Join(base, "time-init.log"), "init", "-input=false", "-no-color")
		if err != nil {
			return d, err
		}
		if r.ExitCode != 0 {
			return d, fmt.Errorf("terraform init of hashicorp/time exited %d:\n%s", r.ExitCode, tail(r.Output, 20))
		}
	}
	return d, nil
}

// measure runs row.Op once on the floor, once with hashicorp/time (with
// -plugin-floor), then once with the provider, and adds the figures to row.
// They run back to back so that all see the same machine load.
func (b *bench) measure(ctx context.Context, api *localAPI, row *Row, d dirs, env []string, logBase string) error {
	op := row.Op
	args := tfArgs(op, b.cfg.parallelism)

	fr, err := runTerraform(ctx, b.cfg.tfBin, d.floor, env, logBase+"-floor.log", args...)
	if err != nil {
		return err
	}
	if err := checkExit(op, fr); err != nil {
		return fmt.Errorf("floor %s: %w", op, err)
	}
	pluginNote := ""
	if d.plugin != "" {
		pr, err := runTerraform(ctx, b.cfg.tfBin, d.plugin, env, logBase+"-time.log", args...)
		if err != nil {
			return err
		}
		if err := checkExit(op, pr); err != nil {
			return fmt.Errorf("time_static %s: %w", op, err)
		}
		row.PluginWall = append(row.PluginWall, pr.Wall)
		row.PluginCPUs = append(row.PluginCPUs, pr.CPU)
		row.PluginProvKB = max(row.PluginProvKB, pr.ProvRSSKB)
		pluginNote = fmt.Sprintf("  time_static %6.2fs (CPU %5.2fs)", pr.Wall.Seconds(), pr.CPU.Seconds())
	}

	if err := api.resetStats(ctx); err != nil {
		return err
	}
	cr, err := runTerraform(ctx, b.cfg.tfBin, d.cmdop, env, logBase+"-cmdop.log", args...)
	if err != nil {
		return err
	}
	st, serr := api.stats(ctx)
	if err := checkExit(op, cr); err != nil {
		return fmt.Errorf("cmdop %s: %w", op, err)
	}
	if serr != nil {
		return serr
	}
	if op == "plan" && (cr.ExitCode == 2 || fr.ExitCode == 2) {
		row.Note = "plan was not a no-op"
	}
	row.FloorWall = append(row.FloorWall, fr.Wall)
	row.CmdopWall = append(row.CmdopWall, cr.Wall)
	row.FloorCPUs = append(row.FloorCPUs, fr.CPU)
	row.CmdopCPUs = append(row.CmdopCPUs, cr.CPU)
	row.ProvCPUs = append(row.ProvCPUs, cr.ProvCPU)
	row.Requests, row.Writes, row.ByRoute = st.Total, st.Writes, st.ByRoute
	row.ProvRSSKB = max(row.ProvRSSKB, cr.ProvRSSKB)
	row.ProvProcs = cr.ProvProcs
	row.TFRSSKB = max(row.TFRSSKB, cr.TFRSSKB)
	row.FloorRSS = max(row.FloorRSS, fr.TFRSSKB)
	fmt.Fprintf(b.out, "   %-7s floor %6.2fs%s  cmdop %6.2fs  (%5.2fx)  %5d requests  CPU %5.2fs (provider %5.2fs)  provider peak RSS %s over %d process(es)\n",
		op, fr.Wall.Seconds(), pluginNote, cr.Wall.Seconds(), cr.Wall.Seconds()/fr.Wall.Seconds(), st.Total, cr.CPU.Seconds(), cr.ProvCPU.Seconds(), mib(cr.ProvRSSKB), cr.ProvProcs)
	return nil
}

// baseline measures the fixed cost: a no-op plan of zero resources, with
// the provider required (Terraform launches it, fetches its schema,
// configures it) and without.
func (b *bench) baseline(ctx context.Context) (Row, error) {
	base := filepath.Join(b.work, "baseline")
	api, err := startLocal(ctx, b.local, 0, base+"-cmdop-local.log")
	if err != nil {
		return Row{}, err
	}
	defer api.stop()
	env := append(slices.Clone(b.baseEnv), api.env()...)
	d, err := b.prepare(ctx, base, 0, env)
	if err != nil {
		return Row{}, err
	}
	row := Row{Op: "plan", N: 0}
	fmt.Fprintf(b.out, "== baseline: no-op plan of 0 resources\n")
	for k := range b.cfg.planRepeat {
		if err := b.measure(ctx, api, &row, d, env, filepath.Join(base, fmt.Sprintf("plan-%d", k+1))); err != nil {
			return row, err
		}
	}
	return row, nil
}

// checkExit accepts 0, and 2 from plan -detailed-exitcode (changes present).
func checkExit(op string, r tfResult) error {
	if r.ExitCode == 0 || (op == "plan" && r.ExitCode == 2) {
		return nil
	}
	return fmt.Errorf("terraform %s exited %d (log %s):\n%s", op, r.ExitCode, r.LogPath, tail(r.Output, 30))
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// AuditResult is one read of the cmdop_audit_events data source.
type AuditResult struct {
	Latency    time.Duration
	Generated  int
	GenWall    time.Duration
	MaxResults int
	Wall       time.Duration
	Events     int
	Truncated  bool
	Requests   int
	ByRoute    map[string]int
	MinPages   int
	ProvRSSKB  int64
	ProvProcs  int
	TFRSSKB    int64
}

// audit generates cfg.auditEvents token.used events in a fresh cmdop-local
// (with no latency), then, at each latency, reads them back with
// cmdop_audit_events in a fresh working directory.
func (b *bench) audit(ctx context.Context) ([]AuditResult, error) {
	base := filepath.Join(b.work, "audit")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	api, err := startLocal(ctx, b.local, 0, filepath.Join(base, "cmdop-local.log"))
	if err != nil {
		return nil, err
	}
	defer api.stop()
	env := append(slices.Clone(b.baseEnv), api.env()...)

	maxResults := min(b.cfg.auditEvents, 10000)
	fmt.Fprintf(b.out, "== audit: generating %d token.used events\n", b.cfg.auditEvents)
	start := time.Now()
	if err := api.generateEvents(ctx, b.cfg.auditEvents, 16); err != nil {
		return nil, fmt.Errorf("generating events: %w", err)
	}
	genWall := time.Since(start)
	fmt.Fprintf(b.out, "   generated in %.2fs\n", genWall.Seconds())

	var out []AuditResult
	for _, lat := range b.cfg.latencies {
		if err := api.setLatency(ctx, lat); err != nil {
			return out, err
		}
		dir := filepath.Join(base, fmtLat(lat))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return out, err
		}
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(auditConfig(maxResults)), 0o644); err != nil {
			return out, err
		}
		if err := api.resetStats(ctx); err != nil {
			return out, err
		}
		r, err := runTerraform(ctx, b.cfg.tfBin, dir, env, filepath.Join(dir, "apply.log"),
			"apply", "-auto-approve", "-input=false", "-no-color")
		if err != nil {
			return out, err
		}
		st, serr := api.stats(ctx)
		if err := checkExit("apply", r); err != nil {
			return out, err
		}
		if serr != nil {
			return out, serr
		}
		ar := AuditResult{
			Latency: lat, Generated: b.cfg.auditEvents, GenWall: genWall, MaxResults: maxResults, Wall: r.Wall,
			Requests: st.Total, ByRoute: st.ByRoute, MinPages: (maxResults + 999) / 1000,
			ProvRSSKB: r.ProvRSSKB, ProvProcs: r.ProvProcs, TFRSSKB: r.TFRSSKB,
		}
		cmd := exec.CommandContext(ctx, b.cfg.tfBin, "output", "-json")
		cmd.Dir, cmd.Env = dir, env
		outb, err := cmd.Output()
		if err != nil {
			return out, fmt.Errorf("terraform output: %w", err)
		}
		var outputs struct {
			N         struct{ Value int }  `json:"n"`
			Truncated struct{ Value bool } `json:"truncated"`
		}
		if err := json.Unmarshal(outb, &outputs); err != nil {
			return out, fmt.Errorf("terraform output: %w", err)
		}
		ar.Events, ar.Truncated = outputs.N.Value, outputs.Truncated.Value
		out = append(out, ar)
		fmt.Fprintf(b.out, "   latency %s: %d events in %.2fs, %d requests, provider peak RSS %s\n",
			fmtLat(lat), ar.Events, r.Wall.Seconds(), st.Total, mib(r.ProvRSSKB))
	}
	return out, nil
}

// results is everything a run measured.
type results struct {
	Machine     string
	Command     string
	Parallelism int
	Repeat      int
	PlanRepeat  int
	Baseline    *Row
	Rows        []Row
	Audit       []AuditResult
	Errors      []string
	LoadAfter   string
}

func fmtLat(d time.Duration) string {
	if d == 0 {
		return "0ms"
	}
	return d.String()
}

func mib(kb int64) string {
	if kb <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
}

func (r *results) find(op string, n int, lat time.Duration) (Row, bool) {
	for _, row := range r.Rows {
		if row.Op == op && row.N == n && row.Latency == lat && len(row.CmdopWall) > 0 {
			return row, true
		}
	}
	return Row{}, false
}

func report(w io.Writer, cfg *config, res *results) {
	fmt.Fprintf(w, "\n## Results\n\n")
	fmt.Fprintf(w, "Wall times are medians of %d apply/destroy and %d no-op plan runs per (N, latency); terraform -parallelism=%d. "+
		"floor = N terraform_data resources (no provider); ratio = cmdop ÷ floor; API requests = what cmdop-local counted during one cmdop command.\n\n",
		cfg.repeat, cfg.repeat*cfg.planRepeat, cfg.parallelism)
	if r := res.Baseline; r != nil && len(r.CmdopWall) > 0 {
		fmt.Fprintf(w, "Fixed cost, a no-op plan of 0 resources: floor %.2fs, with the provider required %.2fs (CPU %.2fs vs %.2fs; %d provider processes launched, %d API requests), "+
			"i.e. %.2fs spent launching and configuring the provider before any resource.\n\n",
			r.floor().Seconds(), r.cmdop().Seconds(), median(r.FloorCPUs).Seconds(), median(r.CmdopCPUs).Seconds(), r.ProvProcs, r.Requests,
			r.cmdop().Seconds()-r.floor().Seconds())
	}
	fmt.Fprintln(w, "| operation | N | latency | floor s | cmdop s | ratio | API requests | requests/token | provider peak RSS |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	rows := slices.Clone(res.Rows)
	opIdx := func(op string) int { return slices.Index(ops, op) }
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Op != b.Op {
			return opIdx(a.Op) < opIdx(b.Op)
		}
		if a.Latency != b.Latency {
			return a.Latency < b.Latency
		}
		return a.N < b.N
	})
	for _, r := range rows {
		if len(r.CmdopWall) == 0 {
			continue
		}
		note := ""
		if r.Note != "" {
			note = " (" + r.Note + ")"
		}
		fmt.Fprintf(w, "| %s%s | %d | %s | %.2f | %.2f | %.2f | %d | %.2f | %s |\n", r.Op, note, r.N, fmtLat(r.Latency),
			r.floor().Seconds(), r.cmdop().Seconds(), r.ratio(), r.Requests, float64(r.Requests)/float64(r.N), mib(r.ProvRSSKB))
	}

	fmt.Fprintf(w, "\n### Ratio cmdop ÷ floor by operation\n\n")
	fmt.Fprint(w, "| operation |")
	for _, lat := range cfg.latencies {
		for _, n := range cfg.ns {
			fmt.Fprintf(w, " N=%d @%s |", n, fmtLat(lat))
		}
	}
	fmt.Fprint(w, "\n|---|")
	for range len(cfg.latencies) * len(cfg.ns) {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, op := range ops {
		fmt.Fprintf(w, "| %s |", op)
		for _, lat := range cfg.latencies {
			for _, n := range cfg.ns {
				if r, ok := res.find(op, n, lat); ok {
					fmt.Fprintf(w, " %.2f |", r.ratio())
				} else {
					fmt.Fprint(w, " – |")
				}
			}
		}
		fmt.Fprintln(w)
	}

	if cfg.pluginFloor {
		fmt.Fprintf(w, "\n### Plugin floor: N time_static of hashicorp/time\n\n")
		fmt.Fprintln(w, "hashicorp/time is a terraform-plugin-framework provider that calls no API: what any out-of-process provider pays per resource "+
			"(gRPC, msgpack, framework) on top of terraform_data, which Terraform runs in-process.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| operation | N | latency | terraform_data s | time_static s | cmdop s | cmdop ÷ time_static | CPU terraform_data / time_static / cmdop s | provider peak RSS time / cmdop |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		all := rows
		if res.Baseline != nil {
			all = append([]Row{*res.Baseline}, rows...)
		}
		for _, r := range all {
			if len(r.CmdopWall) == 0 || len(r.PluginWall) == 0 {
				continue
			}
			pw := median(r.PluginWall)
			fmt.Fprintf(w, "| %s | %d | %s | %.2f | %.2f | %.2f | %.2f | %.2f / %.2f / %.2f | %s / %s |\n", r.Op, r.N, fmtLat(r.Latency),
				r.floor().Seconds(), pw.Seconds(), r.cmdop().Seconds(), r.cmdop().Seconds()/pw.Seconds(),
				median(r.FloorCPUs).Seconds(), median(r.PluginCPUs).Seconds(), median(r.CmdopCPUs).Seconds(), mib(r.PluginProvKB), mib(r.ProvRSSKB))
		}
	}

	fmt.Fprintf(w, "\n### Details: CPU time and API requests by route\n\n")
	fmt.Fprintln(w, "CPU = user+system seconds of terraform plus the provider processes it ran (less sensitive to machine load than wall time); "+
		"of which provider = the provider processes' own share, sampled from /proc every 15 ms.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| operation | N | latency | floor CPU s | cmdop CPU s | of which provider | terraform peak RSS floor / cmdop | provider processes | writes | requests by route |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		if len(r.CmdopWall) == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %s | %.2f | %.2f | %.2f | %s / %s | %d | %d | %s |\n", r.Op, r.N, fmtLat(r.Latency),
			median(r.FloorCPUs).Seconds(), median(r.CmdopCPUs).Seconds(), median(r.ProvCPUs).Seconds(), mib(r.FloorRSS), mib(r.TFRSSKB), r.ProvProcs, r.Writes, routes(r.ByRoute))
	}

	fmt.Fprintf(w, "\n### Provider peak RSS during the no-op plan\n\n")
	fmt.Fprint(w, "| latency |")
	for _, n := range cfg.ns {
		fmt.Fprintf(w, " N=%d |", n)
	}
	fmt.Fprint(w, "\n|---|")
	for range cfg.ns {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, lat := range cfg.latencies {
		fmt.Fprintf(w, "| %s |", fmtLat(lat))
		for _, n := range cfg.ns {
			if r, ok := res.find("plan", n, lat); ok {
				fmt.Fprintf(w, " %s |", mib(r.ProvRSSKB))
			} else {
				fmt.Fprint(w, " – |")
			}
		}
		fmt.Fprintln(w)
	}

	if len(res.Audit) > 0 {
		a0 := res.Audit[0]
		fmt.Fprintf(w, "\n### cmdop_audit_events reading %d events\n\n", a0.MaxResults)
		fmt.Fprintf(w, "%d token.used events generated with concurrent GET /api/audit/events?limit=1 in %.2fs; then `terraform apply -auto-approve` of one `cmdop_audit_events` data source (actions = [\"token.used\"], max_results = %d).\n\n",
			a0.Generated, a0.GenWall.Seconds(), a0.MaxResults)
		fmt.Fprintln(w, "| latency | apply s | events read | truncated | API requests | minimum pages | provider peak RSS | terraform peak RSS | requests by route |")
		fmt.Fprintln(w, "|---:|---:|---:|---|---:|---:|---:|---:|---|")
		for _, a := range res.Audit {
			fmt.Fprintf(w, "| %s | %.2f | %d | %t | %d | %d (+1 probe = %d) | %s | %s | %s |\n", fmtLat(a.Latency), a.Wall.Seconds(), a.Events, a.Truncated,
				a.Requests, a.MinPages, a.MinPages+1, mib(a.ProvRSSKB), mib(a.TFRSSKB), routes(a.ByRoute))
		}
	}

	fmt.Fprintf(w, "\n### Goals (informational)\n\n")
	for _, g := range goals(cfg, res) {
		fmt.Fprintf(w, "- %s\n", g)
	}
	if len(res.Errors) > 0 {
		fmt.Fprintf(w, "\n### Errors\n\n")
		for _, e := range res.Errors {
			fmt.Fprintf(w, "- %s\n", strings.ReplaceAll(e, "\n", "\n  "))
		}
	}
	fmt.Fprintf(w, "\nLoad average at the end: %s\n", res.LoadAfter)
}

func routes(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var s []kv
	for k, v := range m {
		s = append(s, kv{k, v})
	}
	sort.Slice(s, func(i, j int) bool {
		if s[i].v != s[j].v {
			return s[i].v > s[j].v
		}
		return s[i].k < s[j].k
	})
	parts := make([]string, len(s))
	for i, e := range s {
		parts[i] = fmt.Sprintf("%s ×%d", e.k, e.v)
	}
	if len(parts) == 0 {
		return "–"
	}
	return "`" + strings.Join(parts, "`, `") + "`"
}

// goals evaluates the targets at the largest N measured (1000 in a
// full run).
func goals(cfg *config, res *results) []string {
	n := cfg.ns[len(cfg.ns)-1]
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	var out []string
	lat20 := 20 * time.Millisecond
	if r, ok := res.find("plan", n, 0); ok {
		limit := 1.3 * r.floor().Seconds()
		out = append(out, fmt.Sprintf("%s: no-op plan of %d tokens at 0ms ≤ 1.3 × floor: %.2fs vs limit %.2fs (floor %.2fs, ratio %.2f; %+.2fs over the limit)",
			verdict(r.cmdop().Seconds() <= limit), n, r.cmdop().Seconds(), limit, r.floor().Seconds(), r.ratio(), r.cmdop().Seconds()-limit))
	} else {
		out = append(out, "n/a: no-op plan at 0ms was not measured")
	}
	if r, ok := res.find("plan", n, lat20); ok {
		limit := r.floor().Seconds() + 1
		out = append(out, fmt.Sprintf("%s: no-op plan of %d tokens at 20ms ≤ floor + 1s: %.2fs vs limit %.2fs (floor %.2fs; %+.2fs over the limit)",
			verdict(r.cmdop().Seconds() <= limit), n, r.cmdop().Seconds(), limit, r.floor().Seconds(), r.cmdop().Seconds()-limit))
	} else {
		out = append(out, "n/a: no-op plan at 20ms was not measured")
	}
	if r, ok := res.find("apply", n, lat20); ok {
		ideal := float64(n)/float64(cfg.parallelism)*lat20.Seconds() + r.floor().Seconds()
		limit := 1.3 * ideal
		out = append(out, fmt.Sprintf("%s: apply of %d tokens at 20ms ≤ 1.3 × ((%d/%d) × 20ms + floor) = 1.3 × %.2fs: %.2fs vs limit %.2fs (floor %.2fs; %d requests, %.2f per token; %+.2fs over the limit)",
			verdict(r.cmdop().Seconds() <= limit), n, n, cfg.parallelism, ideal, r.cmdop().Seconds(), limit, r.floor().Seconds(),
			r.Requests, float64(r.Requests)/float64(n), r.cmdop().Seconds()-limit))
	} else {
		out = append(out, "n/a: apply at 20ms was not measured")
	}
	// Memory flat in N: the provider's peak RSS during the no-op plan at the
	// largest N is within 25% of that at the smallest N, at every latency.
	if len(cfg.ns) < 2 {
		out = append(out, "n/a: provider memory flat in N needs at least two values of N")
	} else {
		for _, lat := range cfg.latencies {
			lo, ok1 := res.find("plan", cfg.ns[0], lat)
			hi, ok2 := res.find("plan", n, lat)
			if !ok1 || !ok2 || lo.ProvRSSKB == 0 || hi.ProvRSSKB == 0 {
				out = append(out, fmt.Sprintf("n/a: provider memory flat in N at %s: not measured", fmtLat(lat)))
				continue
			}
			growth := float64(hi.ProvRSSKB)/float64(lo.ProvRSSKB) - 1
			out = append(out, fmt.Sprintf("%s: provider memory flat in N (no-op plan peak RSS at N=%d within 25%% of N=%d) at %s: %s vs %s (%+.0f%%)",
				verdict(growth <= 0.25), n, cfg.ns[0], fmtLat(lat), mib(hi.ProvRSSKB), mib(lo.ProvRSSKB), growth*100))
		}
	}
	return out
}

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
