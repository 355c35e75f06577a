package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// sample is one timed Terraform command of one configuration.
type sample struct {
	Wall      time.Duration
	CPU       time.Duration // terraform plus the provider processes it reaped
	ProvCPU   time.Duration // the provider processes' share, sampled from /proc
	ProvRSSKB int64         // largest provider VmHWM
	ProvProcs int
	TFRSSKB   int64 // terraform's own VmHWM
	ExitCode  int
}

// Row is one operation at one (N, latency), for every configuration.
type Row struct {
	Op       string
	N        int
	Latency  time.Duration
	Runs     map[string][]sample // by configuration
	Requests int                 // API requests of the last cmdop command
	Writes   int
	ByRoute  map[string]int
	Note     string
}

func newRow(op string, n int, lat time.Duration) Row {
	return Row{Op: op, N: n, Latency: lat, Runs: map[string][]sample{}}
}

func (r Row) measured() bool { return len(r.Runs[cmdop]) > 0 }

func (r Row) stat(c string, f func(sample) time.Duration) time.Duration {
	ds := make([]time.Duration, 0, len(r.Runs[c]))
	for _, s := range r.Runs[c] {
		ds = append(ds, f(s))
	}
	return median(ds)
}

func (r Row) wall(c string) time.Duration {
	return r.stat(c, func(s sample) time.Duration { return s.Wall })
}
func (r Row) cpu(c string) time.Duration {
	return r.stat(c, func(s sample) time.Duration { return s.CPU })
}
func (r Row) provCPU(c string) time.Duration {
	return r.stat(c, func(s sample) time.Duration { return s.ProvCPU })
}

func (r Row) maxKB(c string, f func(sample) int64) int64 {
	var m int64
	for _, s := range r.Runs[c] {
		m = max(m, f(s))
	}
	return m
}

func (r Row) provRSS(c string) int64 { return r.maxKB(c, func(s sample) int64 { return s.ProvRSSKB }) }
func (r Row) tfRSS(c string) int64   { return r.maxKB(c, func(s sample) int64 { return s.TFRSSKB }) }
func (r Row) procs(c string) int {
	if s := r.Runs[c]; len(s) > 0 {
		return s[len(s)-1].ProvProcs
	}
	return 0
}

// ratio is a ÷ b of the wall times.
func (r Row) ratio(a, b string) float64 { return div(r.wall(a), r.wall(b)) }

func div(a, b time.Duration) float64 {
	if b <= 0 || a <= 0 {
		return math.NaN()
	}
	return a.Seconds() / b.Seconds()
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

// combo measures apply, no-op plan and destroy of n resources of every
// configuration, against a fresh cmdop-local with latency lat, in fresh
// working directories. The configurations take turns command by command, so
// that all see the same machine load.
func (b *bench) combo(ctx context.Context, n int, lat time.Duration) ([]Row, error) {
	base := filepath.Join(b.work, fmt.Sprintf("n%d-%s", n, fmtLat(lat)))
	api, err := startLocal(ctx, b.local, lat, base+"-cmdop-local.log")
	if err != nil {
		return nil, err
	}
	defer api.stop()
	env := append(slices.Clone(b.baseEnv), api.env()...)
	dirs, err := prepare(base, n)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, len(ops))
	for i, op := range ops {
		rows[i] = newRow(op, n, lat)
	}
	fmt.Fprintf(b.out, "== N=%d latency=%s\n", n, fmtLat(lat))
	for rep := range b.cfg.repeat {
		for i, op := range ops {
			times := 1
			if op == "plan" {
				times = b.cfg.planRepeat
			}
			for k := range times {
				if err := b.measure(ctx, api, &rows[i], dirs, env, filepath.Join(base, fmt.Sprintf("%s-%d-%d", op, rep+1, k+1))); err != nil {
					return rows[:i], err
				}
			}
		}
	}
	return rows, nil
}

// prepare makes a fresh working directory per configuration under base.
func prepare(base string, n int) (map[string]string, error) {
	dirs := map[string]string{}
	for _, c := range configurations {
		dir := filepath.Join(base, c)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(hcl(c, n)), 0o644); err != nil {
			return nil, err
		}
		dirs[c] = dir
	}
	return dirs, nil
}

// measure runs row.Op once in every configuration, back to back, and adds
// the figures to row. The order rotates from one call to the next, so that
// no configuration always runs first or last.
func (b *bench) measure(ctx context.Context, api *localAPI, row *Row, dirs map[string]string, env []string, logBase string) error {
	op := row.Op
	order := slices.Clone(configurations)
	k := b.turn % len(order)
	b.turn++
	order = append(order[k:], order[:k]...)
	line := make(map[string]sample, len(order))
	for _, c := range order {
		if c == cmdop {
			if err := api.resetStats(ctx); err != nil {
				return err
			}
		}
		r, err := runTerraform(ctx, b.cfg.tfBin, dirs[c], env, logBase+"-"+c+".log", tfArgs(op, b.cfg.parallelism)...)
		if err != nil {
			return err
		}
		if err := checkExit(op, r); err != nil {
			return fmt.Errorf("%s %s: %w", c, op, err)
		}
		if c == cmdop {
			st, err := api.stats(ctx)
			if err != nil {
				return err
			}
			row.Requests, row.Writes, row.ByRoute = st.Total, st.Writes, st.ByRoute
		}
		if op == "plan" && r.ExitCode == 2 {
			row.Note = c + "'s plan was not a no-op"
		}
		s := sample{Wall: r.Wall, CPU: r.CPU, ProvCPU: r.ProvCPU, ProvRSSKB: r.ProvRSSKB, ProvProcs: r.ProvProcs, TFRSSKB: r.TFRSSKB, ExitCode: r.ExitCode}
		row.Runs[c] = append(row.Runs[c], s)
		line[c] = s
	}
	fmt.Fprintf(b.out, "   %-7s", op)
	for _, c := range configurations {
		s := line[c]
		fmt.Fprintf(b.out, "  %s %6.2fs", c, s.Wall.Seconds())
		if c != tfData {
			fmt.Fprintf(b.out, " (provider CPU %5.2fs, peak RSS %s)", s.ProvCPU.Seconds(), mib(s.ProvRSSKB))
		}
	}
	fmt.Fprintf(b.out, "  cmdop÷floor %.2f  %d requests\n", div(line[cmdop].Wall, line[floor].Wall), row.Requests)
	return nil
}

// baseline measures the fixed cost: a no-op plan of zero resources (each
// provider is launched, asked for its schema and configured).
func (b *bench) baseline(ctx context.Context) (Row, error) {
	base := filepath.Join(b.work, "baseline")
	api, err := startLocal(ctx, b.local, 0, base+"-cmdop-local.log")
	if err != nil {
		return Row{}, err
	}
	defer api.stop()
	env := append(slices.Clone(b.baseEnv), api.env()...)
	dirs, err := prepare(base, 0)
	if err != nil {
		return Row{}, err
	}
	row := newRow("plan", 0, 0)
	fmt.Fprintf(b.out, "== baseline: no-op plan of 0 resources\n")
	for k := range b.cfg.planRepeat {
		if err := b.measure(ctx, api, &row, dirs, env, filepath.Join(base, fmt.Sprintf("plan-%d", k+1))); err != nil {
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
