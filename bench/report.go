package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

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

func ratioStr(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.2f", x)
}

func (r *results) find(op string, n int, lat time.Duration) (Row, bool) {
	for _, row := range r.Rows {
		if row.Op == op && row.N == n && row.Latency == lat && row.measured() {
			return row, true
		}
	}
	return Row{}, false
}

// sorted is the measured rows by operation, latency and N.
func (r *results) sorted() []Row {
	var rows []Row
	for _, row := range r.Rows {
		if row.measured() {
			rows = append(rows, row)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Op != b.Op {
			return slices.Index(ops, a.Op) < slices.Index(ops, b.Op)
		}
		if a.Latency != b.Latency {
			return a.Latency < b.Latency
		}
		return a.N < b.N
	})
	return rows
}

// table writes a Markdown table.
func table(w io.Writer, header []string, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n|", strings.Join(header, " | "))
	for i := range header {
		if i == 0 {
			fmt.Fprint(w, "---|")
		} else {
			fmt.Fprint(w, "---:|")
		}
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

func report(w io.Writer, cfg *config, res *results) {
	rows := res.sorted()
	fmt.Fprintf(w, "\n## Results\n\n")
	fmt.Fprintf(w, "Wall times are medians of %d apply/destroy and %d no-op plan runs per (N, latency); terraform -parallelism=%d. "+
		"terraform_data = N terraform_data resources (no provider); floor = N floor_fleet_token (bench/floor: cmdop_fleet_token's schema, no I/O); "+
		"the three take turns command by command. API requests = what cmdop-local counted during one cmdop command.\n\n",
		cfg.repeat, cfg.repeat*cfg.planRepeat, cfg.parallelism)
	if r := res.Baseline; r != nil && r.measured() {
		fmt.Fprintf(w, "Fixed cost, a no-op plan of 0 resources: terraform_data %.2fs, floor %.2fs, cmdop %.2fs (cmdop: %d provider processes launched, %d API requests).\n\n",
			r.wall(tfData).Seconds(), r.wall(floor).Seconds(), r.wall(cmdop).Seconds(), r.procs(cmdop), r.Requests)
	}

	var t [][]string
	for _, r := range rows {
		op := r.Op
		if r.Note != "" {
			op += " (" + r.Note + ")"
		}
		t = append(t, []string{op, fmt.Sprint(r.N), fmtLat(r.Latency), secs(r.wall(tfData)), secs(r.wall(floor)), secs(r.wall(cmdop)),
			ratioStr(r.ratio(cmdop, floor)), ratioStr(r.ratio(floor, tfData)), fmt.Sprint(r.Requests), fmt.Sprintf("%.2f", float64(r.Requests)/float64(r.N))})
	}
	table(w, []string{"operation", "N", "latency", "terraform_data s", "floor s", "cmdop s", "cmdop ÷ floor", "floor ÷ terraform_data", "API requests", "requests/token"}, t)

	fmt.Fprintf(w, "\n### Provider CPU and memory\n\n")
	fmt.Fprintln(w, "Provider CPU = user+system seconds of the provider processes, sampled from /proc every 15 ms (median); "+
		"total CPU = terraform plus the providers it reaped; peak RSS = the largest VmHWM of a provider process (maximum over the runs).")
	fmt.Fprintln(w)
	t = nil
	for _, r := range rows {
		t = append(t, []string{r.Op, fmt.Sprint(r.N), fmtLat(r.Latency), secs(r.provCPU(floor)), secs(r.provCPU(cmdop)), ratioStr(div(r.provCPU(cmdop), r.provCPU(floor))),
			mib(r.provRSS(floor)), mib(r.provRSS(cmdop)),
			fmt.Sprintf("%s / %s / %s", secs(r.cpu(tfData)), secs(r.cpu(floor)), secs(r.cpu(cmdop))),
			fmt.Sprintf("%s / %s / %s", mib(r.tfRSS(tfData)), mib(r.tfRSS(floor)), mib(r.tfRSS(cmdop)))})
	}
	table(w, []string{"operation", "N", "latency", "provider CPU floor s", "provider CPU cmdop s", "cmdop ÷ floor", "provider peak RSS floor", "provider peak RSS cmdop",
		"total CPU terraform_data / floor / cmdop s", "terraform peak RSS terraform_data / floor / cmdop"}, t)

	fmt.Fprintf(w, "\n### Ratios at a glance\n\n")
	header := []string{"ratio"}
	for _, lat := range cfg.latencies {
		for _, n := range cfg.ns {
			header = append(header, fmt.Sprintf("N=%d @%s", n, fmtLat(lat)))
		}
	}
	line := func(label, op string, f func(Row) float64) []string {
		out := []string{label}
		for _, lat := range cfg.latencies {
			for _, n := range cfg.ns {
				if r, ok := res.find(op, n, lat); ok {
					out = append(out, ratioStr(f(r)))
				} else {
					out = append(out, "–")
				}
			}
		}
		return out
	}
	t = nil
	for _, op := range ops {
		t = append(t, line(op+": cmdop ÷ floor", op, func(r Row) float64 { return r.ratio(cmdop, floor) }))
	}
	t = append(t, line("plan: provider CPU cmdop ÷ floor", "plan", func(r Row) float64 { return div(r.provCPU(cmdop), r.provCPU(floor)) }))
	for _, op := range ops {
		t = append(t, line(op+": floor ÷ terraform_data", op, func(r Row) float64 { return r.ratio(floor, tfData) }))
	}
	table(w, header, t)

	fmt.Fprintf(w, "\n### API requests by route (cmdop)\n\n")
	t = nil
	for _, r := range rows {
		t = append(t, []string{r.Op, fmt.Sprint(r.N), fmtLat(r.Latency), fmt.Sprint(r.Requests), fmt.Sprint(r.Writes), routes(r.ByRoute)})
	}
	table(w, []string{"operation", "N", "latency", "requests", "writes", "by route"}, t)

	if len(res.Audit) > 0 {
		a0 := res.Audit[0]
		fmt.Fprintf(w, "\n### cmdop_audit_events reading %d events\n\n", a0.MaxResults)
		fmt.Fprintf(w, "%d token.used events generated with concurrent GET /api/audit/events?limit=1 in %.2fs; then `terraform apply -auto-approve` of one `cmdop_audit_events` data source (actions = [\"token.used\"], max_results = %d).\n\n",
			a0.Generated, a0.GenWall.Seconds(), a0.MaxResults)
		t = nil
		for _, a := range res.Audit {
			t = append(t, []string{fmtLat(a.Latency), secs(a.Wall), fmt.Sprint(a.Events), fmt.Sprint(a.Truncated), fmt.Sprint(a.Requests),
				fmt.Sprintf("%d (+1 probe = %d)", a.MinPages, a.MinPages+1), mib(a.ProvRSSKB), mib(a.TFRSSKB), routes(a.ByRoute)})
		}
		table(w, []string{"latency", "apply s", "events read", "truncated", "API requests", "minimum pages", "provider peak RSS", "terraform peak RSS", "requests by route"}, t)
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

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// goals evaluates the targets at every (N, latency) measured.
func goals(cfg *config, res *results) []string {
	var out []string
	// each checks f(row) <= limit at every (N, latency) of op.
	each := func(what, op string, limit float64, f func(Row) float64) {
		ok, parts := true, []string{}
		for _, lat := range cfg.latencies {
			for _, n := range cfg.ns {
				r, found := res.find(op, n, lat)
				if !found {
					continue
				}
				x := f(r)
				pass := !math.IsNaN(x) && x <= limit
				ok = ok && pass
				mark := ""
				if !pass {
					mark = " ✗"
				}
				parts = append(parts, fmt.Sprintf("N=%d@%s %s%s", n, fmtLat(lat), ratioStr(x), mark))
			}
		}
		if len(parts) == 0 {
			out = append(out, fmt.Sprintf("n/a: %s: not measured", what))
			return
		}
		out = append(out, fmt.Sprintf("%s: %s ≤ %.2f: %s", verdict(ok), what, limit, strings.Join(parts, ", ")))
	}
	each("no-op plan, cmdop ÷ floor", "plan", 1.05, func(r Row) float64 { return r.ratio(cmdop, floor) })
	each("apply, cmdop ÷ floor", "apply", 1.05, func(r Row) float64 { return r.ratio(cmdop, floor) })
	each("destroy, cmdop ÷ floor", "destroy", 1.05, func(r Row) float64 { return r.ratio(cmdop, floor) })
	each("provider CPU in a no-op plan, cmdop ÷ floor", "plan", 1.15, func(r Row) float64 { return div(r.provCPU(cmdop), r.provCPU(floor)) })

	lo, hi := cfg.ns[0], cfg.ns[len(cfg.ns)-1]
	for _, lat := range cfg.latencies {
		h, ok := res.find("plan", hi, lat)
		if !ok || h.provRSS(cmdop) == 0 {
			out = append(out, fmt.Sprintf("n/a: provider peak RSS at N=%d, %s: not measured", hi, fmtLat(lat)))
			continue
		}
		rss := float64(h.provRSS(cmdop)) / 1024
		line := fmt.Sprintf("%s: provider peak RSS in a no-op plan at N=%d, %s ≤ 40 MiB: %s (floor, without the workaround: %s)",
			verdict(rss <= 40), hi, fmtLat(lat), mib(h.provRSS(cmdop)), mib(h.provRSS(floor)))
		out = append(out, line)
		if l, ok := res.find("plan", lo, lat); ok && lo != hi && l.provRSS(cmdop) > 0 {
			g := float64(h.provRSS(cmdop)) / float64(l.provRSS(cmdop))
			out = append(out, fmt.Sprintf("%s: flat in N, peak RSS at N=%d ≤ 1.25 × N=%d, %s: %s vs %s (×%.2f; floor ×%.2f)",
				verdict(g <= 1.25), hi, lo, fmtLat(lat), mib(h.provRSS(cmdop)), mib(l.provRSS(cmdop)), g, float64(h.provRSS(floor))/float64(max(l.provRSS(floor), 1))))
		}
	}

	ok, parts := true, []string{}
	for _, lat := range cfg.latencies {
		for _, n := range cfg.ns {
			if r, found := res.find("plan", n, lat); found {
				limit := (n+199)/200 + 2
				pass := r.Requests <= limit
				ok = ok && pass
				parts = append(parts, fmt.Sprintf("N=%d@%s %d of %d", n, fmtLat(lat), r.Requests, limit))
			}
		}
	}
	if len(parts) > 0 {
		out = append(out, fmt.Sprintf("%s: refreshing N tokens costs ≤ ceil(N/200) + 2 requests: %s", verdict(ok), strings.Join(parts, ", ")))
	}
	return out
}
