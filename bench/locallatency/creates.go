package main

// Keyed creates: does a create cost more as the creates before it pile up?
// Every variant runs the cmdop-local binary in its own process, so that its
// CPU time (from /proc/<pid>/stat) is its own and not the client's.

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// createRun is one variant's figures: the first and the last window of creates.
type createRun struct {
	name                  string
	first, last           stats
	firstCPU, lastCPU     time.Duration // cmdop-local CPU per create
	total                 time.Duration // wall time of all the creates
	stateBytes            int64         // the state database with its -wal and -shm, at the end
	firstFrom, lastFrom   int
	window, creates       int
	firstWall, lastWall   time.Duration
	firstTicks, lastTicks int64
}

// keyedCreates builds cmdop-local from the -before ref and from this tree,
// and runs n keyed creates against each, in memory and with --state.
func keyedCreates(work, beforeRef string, n, window int, profile string) error {
	if window*2 > n {
		return fmt.Errorf("-creates %d must be at least twice -creates-window %d", n, window)
	}
	var bins []struct{ name, bin string }
	if beforeRef != "" {
		src := filepath.Join(work, "creates-before-src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			return err
		}
		archive := exec.Command("sh", "-c", "git archive "+beforeRef+" | tar -x -C "+src)
		if b, err := archive.CombinedOutput(); err != nil {
			return fmt.Errorf("git archive %s: %v\n%s", beforeRef, err, b)
		}
		bin := filepath.Join(work, "creates-before", "cmdop-local")
		if err := buildLocal(src, bin); err != nil {
			return err
		}
		rev, _ := exec.Command("git", "rev-parse", "--short", beforeRef).Output()
		bins = append(bins, struct{ name, bin string }{"before (" + beforeRef + " " + strings.TrimSpace(string(rev)) + ")", bin})
	}
	here, err := os.Getwd()
	if err != nil {
		return err
	}
	bin := filepath.Join(work, "creates-after", "cmdop-local")
	if err := buildLocal(here, bin); err != nil {
		return err
	}
	head, _ := exec.Command("git", "describe", "--always", "--dirty").Output()
	bins = append(bins, struct{ name, bin string }{"after (" + strings.TrimSpace(string(head)) + ")", bin})

	var runs []*createRun
	for _, b := range bins {
		for _, state := range []bool{false, true} {
			name := b.name + ", in memory"
			if state {
				name = b.name + ", --state"
			}
			r, err := createsOnce(work, b.bin, state, n, window)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			r.name = name
			runs = append(runs, r)
			fmt.Fprintf(os.Stderr, "%s: %d creates in %s\n", name, n, r.total.Round(time.Millisecond))
		}
	}

	fmt.Printf("== cmdop-local: %d creates with Idempotency-Keys in one window, one at a time over loopback; the first and the last %d\n\n", n, window)
	fmt.Println("| variant | creates | median ms | p99 ms | cmdop-local CPU ms per create |")
	fmt.Println("|---|---|---:|---:|---:|")
	for _, r := range runs {
		fmt.Printf("| %s | %d–%d | %s | %s | %.3f |\n", r.name, r.firstFrom+1, r.firstFrom+r.window, ms(r.first.median), ms(r.first.p99), msf(r.firstCPU))
		fmt.Printf("| %s | %d–%d | %s | %s | %.3f |\n", r.name, r.lastFrom+1, r.lastFrom+r.window, ms(r.last.median), ms(r.last.p99), msf(r.lastCPU))
	}
	fmt.Println()
	fmt.Println("| variant | last ÷ first, median | p99 | CPU per create | all creates, s | state on disk, MiB |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, r := range runs {
		disk := "–"
		if r.stateBytes > 0 {
			disk = fmt.Sprintf("%.1f", float64(r.stateBytes)/(1<<20))
		}
		fmt.Printf("| %s | %.2f | %.2f | %.2f | %.1f | %s |\n", r.name, ratio(r.last.median, r.first.median), ratio(r.last.p99, r.first.p99),
			ratio(r.lastCPU, r.firstCPU), r.total.Seconds(), disk)
	}
	fmt.Println()
	if profile != "" {
		if err := profileCreates(work, n, profile); err != nil {
			return err
		}
	}
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func msf(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func buildLocal(src, out string) error {
	cmd := exec.Command("go", "build", "-o", out, "./cmd/cmdop-local")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/cmdop-local in %s: %v\n%s", src, err, b)
	}
	return nil
}

// cpuTicks is the user plus system CPU time of pid, in clock ticks (USER_HZ,
// 100 per second on Linux).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count from after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q %q", pid, f[11], f[12])
	}
	return utime + stime, nil
}

const userHZ = 100

// createsOnce starts a fresh cmdop-local and makes n keyed creates, one at a
// time, timing each and reading the server's CPU around the first and the
// last window.
func createsOnce(work, bin string, state bool, n, window int) (*createRun, error) {
	dir, err := os.MkdirTemp(work, "creates-")
	if err != nil {
		return nil, err
	}
	args := []string{"--addr", "127.0.0.1:0"}
	dbPath := filepath.Join(dir, "state.db")
	if state {
		args = append(args, "--state", dbPath)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = io.Discard // one line per request
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	vars := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for vars["CMDOP_FLEET_ID"] == "" && sc.Scan() {
		if k, val, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok {
			vars[k] = strings.Trim(val, "'")
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if vars["CMDOP_API_BASE_URL"] == "" || vars["CMDOP_TOKEN"] == "" {
		return nil, fmt.Errorf("cmdop-local printed %v", vars)
	}
	c := newClient(vars["CMDOP_API_BASE_URL"], vars["CMDOP_TOKEN"])
	path := "/api/fleets/" + vars["CMDOP_FLEET_ID"] + "/api-keys"
	r := &createRun{window: window, creates: n, firstFrom: 0, lastFrom: n - window}
	pid := cmd.Process.Pid
	ds := make([]time.Duration, 0, window)
	var ticks0 int64
	var wall0 time.Time
	start := time.Now()
	for i := range n {
		if i == r.firstFrom || i == r.lastFrom {
			ds = ds[:0]
			if ticks0, err = cpuTicks(pid); err != nil {
				return nil, err
			}
			wall0 = time.Now()
		}
		d, err := c.doKeyed(http.MethodPost, path, fmt.Sprintf("bench-create-%d", i),
			map[string]any{"name": fmt.Sprintf("bench-%d", i), "scopes": []string{"machines:read"}})
		if err != nil {
			return nil, fmt.Errorf("create %d: %w", i+1, err)
		}
		ds = append(ds, d)
		if i == r.firstFrom+window-1 || i == r.lastFrom+window-1 {
			ticks, err := cpuTicks(pid)
			if err != nil {
				return nil, err
			}
			cpu := time.Duration(ticks-ticks0) * time.Second / userHZ / time.Duration(window)
			s := summarize(ds)
			if i == r.firstFrom+window-1 {
				r.first, r.firstCPU, r.firstTicks, r.firstWall = s, cpu, ticks-ticks0, time.Since(wall0)
			} else {
				r.last, r.lastCPU, r.lastTicks, r.lastWall = s, cpu, ticks-ticks0, time.Since(wall0)
			}
		}
	}
	r.total = time.Since(start)
	if state {
		for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
			if fi, err := os.Stat(p); err == nil {
				r.stateBytes += fi.Size()
			}
		}
	}
	return r, nil
}

// doKeyed is do with an Idempotency-Key.
func (c *client) doKeyed(method, path, key string, body any) (time.Duration, error) {
	c.key = key
	defer func() { c.key = "" }()
	return c.do(method, path, body, nil)
}

// profileCreates makes n keyed creates against this tree's cmdoplocal
// in-process, with its state in SQLite, under a CPU profile written to
// file: `go tool pprof -top` of it shows what a create costs at n.
func profileCreates(work string, n int, file string) error {
	srv, err := cmdoplocal.New(cmdoplocal.Options{StatePath: filepath.Join(work, "profile-state.db")})
	if err != nil {
		return err
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := newClient(ts.URL, srv.AdminToken())
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	start := time.Now()
	for i := range n {
		if _, err := c.doKeyed(http.MethodPost, "/api/fleets/"+srv.FleetID()+"/api-keys", fmt.Sprintf("profile-%d", i),
			map[string]any{"name": fmt.Sprintf("profile-%d", i), "scopes": []string{"machines:read"}}); err != nil {
			pprof.StopCPUProfile()
			return err
		}
	}
	pprof.StopCPUProfile()
	fmt.Printf("CPU profile of %d keyed creates (in-process, --state) in %s: %s (go tool pprof -top %s)\n\n", n, time.Since(start).Round(time.Millisecond), file, file)
	return nil
}
