// Command locallatency measures cmdop-local's own request latency as its
// audit log grows, and the cmdop_audit_events data source's read of 10,000
// events against cmdop-local built from this tree and from another git ref
// (main by default), in one run. `make bench-local` runs it.
//
//	go run ./bench/locallatency [-sizes 1000,10000,100000] [-samples 1000]
//	    [-terraform bin/terraform] [-before main] [-audit-events 10000] [-repeat 3]
//
// Part 1 serves cmdoplocal in-process over loopback HTTP, with its state in a
// SQLite database in a temporary directory (the --state mode, every write
// committed with synchronous=FULL) and the default audit retention. It fills
// the audit log to each size with concurrent authenticated GETs (each logs
// one token.used event), then times, one request at a time: a token GET, a
// create, the newest audit page (limit=100), and an audit page filtered by a
// token that has few events. It prints the median and p99 of each, and the
// size of the database (with its -wal and -shm files) at the largest size.
//
// Part 2 builds the provider and cmdop-local from this tree ("after") and
// from the -before ref ("before", exported with git archive), starts each
// cmdop-local in memory, generates -audit-events token.used events, times
// the same read straight from the API (pages of 1000, five times), and
// times `terraform apply` of one cmdop_audit_events data source reading them
// all (median of -repeat runs, alternating before and after). "after,
// --state" repeats it with this tree's cmdop-local on a state database.
//
// Part 3 (creates.go) builds cmdop-local from the -before ref and from this
// tree, runs each binary in its own process, in memory and with --state, and
// makes -creates (20,000) creates with distinct Idempotency-Keys, one at a
// time, all inside one idempotency window. For the first and the last
// -creates-window (1,000) it prints the median and p99 latency and the
// cmdop-local process's CPU per create (utime+stime from /proc/<pid>/stat),
// and the last ÷ first ratios. -creates-cpuprofile FILE also profiles this
// tree's cmdoplocal in-process, with --state, over -creates keyed creates.
// -parts selects the parts to run.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

func main() {
	sizes := flag.String("sizes", "1000,10000,100000", "audit log sizes to measure at, ascending")
	samples := flag.Int("samples", 1000, "requests timed per operation and size (creates: a quarter of it)")
	tfBin := flag.String("terraform", "bin/terraform", "Terraform CLI for the data-source read; empty skips it")
	before := flag.String("before", "main", "git ref whose code is the 'before' of the data-source read")
	auditEvents := flag.Int("audit-events", 10000, "events the data source reads")
	repeat := flag.Int("repeat", 3, "terraform applies per variant")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the measurements at the largest size to this file")
	parts := flag.String("parts", "latency,datasource,creates", "the parts to run, comma-separated: latency, datasource, creates")
	creates := flag.Int("creates", 20000, "keyed creates per variant in the creates part")
	createsWindow := flag.Int("creates-window", 1000, "the first and the last this many creates are compared")
	createsProfile := flag.String("creates-cpuprofile", "", "also write a CPU profile of -creates keyed creates (this tree, in-process, --state) to this file")
	flag.Parse()
	run := map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		switch p = strings.TrimSpace(p); p {
		case "latency", "datasource", "creates":
			run[p] = true
		default:
			fail(fmt.Errorf("bad -parts %q: latency, datasource or creates", *parts))
		}
	}

	var ns []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || (len(ns) > 0 && n <= ns[len(ns)-1]) {
			fail(fmt.Errorf("bad -sizes %q: ascending positive integers", *sizes))
		}
		ns = append(ns, n)
	}
	work, err := os.MkdirTemp("", "cmdop-bench-local-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(work)

	if run["latency"] {
		if err := latency(work, ns, *samples); err != nil {
			fail(err)
		}
	}
	if run["datasource"] && *tfBin != "" && *auditEvents > 0 {
		if err := dataSourceRead(work, *tfBin, *before, *auditEvents, *repeat); err != nil {
			fail(err)
		}
	}
	if run["creates"] && *creates > 0 {
		if err := keyedCreates(work, *before, *creates, *createsWindow, *createsProfile); err != nil {
			fail(err)
		}
	}
}

var cpuProfile string

func fail(err error) {
	fmt.Fprintln(os.Stderr, "locallatency:", err)
	os.Exit(1)
}

// client is a sequential API client with one kept-alive connection.
type client struct {
	base, token string
	key         string // the Idempotency-Key of the next request, if any
	http        *http.Client
}

func newClient(base, token string) *client {
	return &client{base: base, token: token, http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
}

func (c *client) do(method, path string, body any, out any) (time.Duration, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if c.key != "" {
		req.Header.Set("Idempotency-Key", c.key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if res.StatusCode/100 != 2 {
		return 0, fmt.Errorf("%s %s: HTTP %d: %s", method, path, res.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		return d, json.Unmarshal(data, out)
	}
	return d, nil
}

// fill makes n authenticated GETs with 16 workers: n token.used events.
func (c *client) fill(n int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := c.do(http.MethodGet, "/api/audit/events?limit=1", nil, nil); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

type stats struct{ median, p99 time.Duration }

func summarize(ds []time.Duration) stats {
	slices.Sort(ds)
	return stats{median: ds[len(ds)/2], p99: ds[min(len(ds)-1, (len(ds)*99+99)/100-1)]}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func latency(work string, ns []int, samples int) error {
	path := filepath.Join(work, "state.db")
	srv, err := cmdoplocal.New(cmdoplocal.Options{StatePath: path})
	if err != nil {
		return err
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := newClient(ts.URL, srv.AdminToken())
	fleet := srv.FleetID()

	var probe struct {
		ID string `json:"id"`
	}
	if _, err := c.do(http.MethodPost, "/api/fleets/"+fleet+"/api-keys", map[string]any{"name": "probe", "scopes": []string{"machines:read"}}, &probe); err != nil {
		return err
	}
	events := 2 // probe's token.issued and the admin's token.used
	ops := []struct {
		name string
		n    int
		req  func(i int) (time.Duration, error)
	}{
		{"token GET", samples, func(int) (time.Duration, error) {
			return c.do(http.MethodGet, "/api/fleets/"+fleet+"/api-keys/"+probe.ID, nil, nil)
		}},
		{"create", max(1, samples/4), func(i int) (time.Duration, error) {
			return c.do(http.MethodPost, "/api/fleets/"+fleet+"/api-keys", map[string]any{"name": fmt.Sprintf("bench-%d", i), "scopes": []string{"machines:read"}}, nil)
		}},
		{"audit page (newest 100)", samples, func(int) (time.Duration, error) {
			return c.do(http.MethodGet, "/api/audit/events?limit=100", nil, nil)
		}},
		{"audit page (token_id filter)", samples, func(int) (time.Duration, error) {
			return c.do(http.MethodGet, "/api/audit/events?limit=100&token_id="+probe.ID, nil, nil)
		}},
	}
	fmt.Printf("== cmdop-local request latency, state in SQLite (%s), sequential requests over loopback\n\n", "WAL, synchronous=FULL")
	fmt.Println("| stored audit events | operation | median ms | p99 ms |")
	fmt.Println("|---:|---|---:|---:|")
	p99 := map[string][]time.Duration{}
	created := 0
	for _, n := range ns {
		if n > events {
			start := time.Now()
			if err := c.fill(n - events); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "filled to %d events in %s\n", n, time.Since(start).Round(time.Millisecond))
			events = n
		}
		if cpuProfile != "" && n == ns[len(ns)-1] {
			f, err := os.Create(cpuProfile)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
		for _, op := range ops {
			ds := make([]time.Duration, 0, op.n)
			for i := range op.n {
				d, err := op.req(created + i)
				if err != nil {
					return err
				}
				ds = append(ds, d)
			}
			events += op.n // each logs its token.used
			if op.name == "create" {
				created += op.n
				events += op.n // and its token.issued
			}
			s := summarize(ds)
			p99[op.name] = append(p99[op.name], s.p99)
			fmt.Printf("| %d | %s | %s | %s |\n", n, op.name, ms(s.median), ms(s.p99))
		}
	}
	fmt.Println()
	if len(ns) > 1 {
		for _, op := range ops {
			v := p99[op.name]
			fmt.Printf("p99 at %d / p99 at %d, %s: %.2fx\n", ns[len(ns)-1], ns[0], op.name, float64(v[len(v)-1])/float64(v[0]))
		}
	}
	var size int64
	var parts []string
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil {
			size += fi.Size()
			parts = append(parts, fmt.Sprintf("%s %.1f MiB", strings.TrimPrefix(filepath.Base(p), "state.db"), float64(fi.Size())/(1<<20)))
		}
	}
	fmt.Printf("state on disk at %d events: %.1f MiB (%s)\n\n", events, float64(size)/(1<<20), strings.Join(parts, ", "))
	return nil
}
