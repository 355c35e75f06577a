package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// synthetic results: wall time and RSS growing with N.
func fakeResults(ns []int, lats []time.Duration) *results {
	res := &results{}
	for _, lat := range lats {
		for _, n := range ns {
			for _, op := range ops {
				r := newRow(op, n, lat)
				for i, c := range configurations {
					r.Runs[c] = []sample{{Wall: time.Duration(n*(i+1)) * time.Millisecond, ProvCPU: time.Duration(n) * time.Millisecond, ProvRSSKB: int64(20000 + n*(i+1)*10)}}
				}
				r.Requests = (n + 199) / 200
				res.Rows = append(res.Rows, r)
			}
		}
	}
	return res
}

func TestWritePlot(t *testing.T) {
	cfg := &config{ns: []int{100, 500, 1000}, latencies: []time.Duration{0, 20 * time.Millisecond}}
	path := filepath.Join(t.TempDir(), "scaling.svg")
	if err := writePlot(cfg, fakeResults(cfg.ns, cfg.latencies), path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	svg := string(b)
	for _, want := range []string{"<svg", "No-op plan: wall time", "Apply: wall time", "provider peak RSS", "cmdop @0ms", "floor @20ms", "terraform_data @0ms"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	if err := writePlot(&config{ns: []int{100}, latencies: cfg.latencies}, fakeResults([]int{100}, cfg.latencies), path); err == nil {
		t.Error("a plot of one N was drawn; want an error")
	}
}

func TestGoals(t *testing.T) {
	cfg := &config{ns: []int{100, 1000}, latencies: []time.Duration{0}}
	got := strings.Join(goals(cfg, fakeResults(cfg.ns, cfg.latencies)), "\n")
	// cmdop takes 1.5 × the floor's wall time in fakeResults.
	for _, want := range []string{
		"FAIL: no-op plan, cmdop ÷ floor ≤ 1.05: N=100@0ms 1.50 ✗",
		"PASS: provider CPU in a no-op plan, cmdop ÷ floor ≤ 1.15: N=100@0ms 1.00",
		"FAIL: provider peak RSS in a no-op plan at N=1000, 0ms ≤ 40 MiB: 48.8 MiB (floor, without the workaround: 39.1 MiB)",
		"FAIL: flat in N",
		"PASS: refreshing N tokens costs ≤ ceil(N/200) + 2 requests: N=100@0ms 1 of 3, N=1000@0ms 5 of 7",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("goals lack %q:\n%s", want, got)
		}
	}
}
