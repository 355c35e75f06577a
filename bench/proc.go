package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procs holds every process the benchmark started, each the leader of its
// own process group, so that killAll can end them and their children (the
// provider processes Terraform launches) on any exit.
var procs = struct {
	sync.Mutex
	m map[int]*exec.Cmd
}{m: map[int]*exec.Cmd{}}

// startGroup starts cmd as the leader of a new process group and records it.
// Cancelling cmd's context kills the whole group.
func startGroup(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return err
	}
	procs.Lock()
	procs.m[cmd.Process.Pid] = cmd
	procs.Unlock()
	return nil
}

// forget drops a process that has been waited for.
func forget(cmd *exec.Cmd) {
	procs.Lock()
	delete(procs.m, cmd.Process.Pid)
	procs.Unlock()
}

// killAll sends SIGTERM to every recorded process group, waits up to five
// seconds for them, then SIGKILLs what is left. Only the groups this program
// started are touched.
func killAll() {
	procs.Lock()
	pids := make([]int, 0, len(procs.m))
	for pid := range procs.m {
		pids = append(pids, pid)
	}
	procs.Unlock()
	if len(pids) == 0 {
		return
	}
	for _, pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		alive := false
		for _, pid := range pids {
			if syscall.Kill(-pid, 0) == nil {
				alive = true
			}
		}
		if !alive {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// tfResult is one timed Terraform command.
type tfResult struct {
	Wall      time.Duration
	CPU       time.Duration // user+system of terraform and its reaped children (the providers)
	ExitCode  int
	Output    string
	LogPath   string
	ProvRSSKB int64         // largest VmHWM of any provider process it launched, in KiB; 0 if none was seen
	ProvProcs int           // provider processes seen
	ProvCPU   time.Duration // user+system of the provider processes, as last polled
	TFRSSKB   int64         // terraform's own VmHWM, in KiB
}

// runTerraform runs bin args... in dir, timing it and watching the peak RSS
// and CPU time of the provider processes Terraform launches (its children
// whose executable is named terraform-provider-*). Its combined output goes
// to logPath as well as Output.
func runTerraform(ctx context.Context, bin, dir string, env []string, logPath string, args ...string) (tfResult, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	if err := startGroup(cmd); err != nil {
		return tfResult{}, err
	}
	w := &procWatch{tfPid: cmd.Process.Pid, peaks: map[int]int64{}, ticks: map[int]int64{}, other: map[int]bool{}}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(15 * time.Millisecond)
		defer t.Stop()
		for {
			w.poll()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	close(stop)
	<-done
	forget(cmd)

	r := tfResult{Wall: wall, Output: out.String(), LogPath: logPath, TFRSSKB: w.tfPeak, ProvProcs: len(w.peaks)}
	for _, kb := range w.peaks {
		r.ProvRSSKB = max(r.ProvRSSKB, kb)
	}
	for _, t := range w.ticks {
		r.ProvCPU += time.Duration(t) * time.Second / clockTicks
	}
	if ps := cmd.ProcessState; ps != nil {
		r.CPU = ps.UserTime() + ps.SystemTime()
		r.ExitCode = ps.ExitCode()
	}
	if logPath != "" {
		_ = os.WriteFile(logPath, out.Bytes(), 0o644)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return r, err
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	return r, nil
}

// procWatch polls /proc for the provider processes one Terraform process
// launches and records their VmHWM (peak resident set size). VmHWM only
// grows, and a provider lives until Terraform is done with it, so the last
// poll before it exits sees (almost exactly) its peak.
type procWatch struct {
	tfPid  int
	peaks  map[int]int64 // provider pid -> VmHWM KiB
	ticks  map[int]int64 // provider pid -> utime+stime in clock ticks
	other  map[int]bool  // pids known not to be our provider
	tfPeak int64
}

func (w *procWatch) poll() {
	if kb := vmHWM(w.tfPid); kb > w.tfPeak {
		w.tfPeak = kb
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		// Terraform's children are started after it, so their pids are
		// higher (barring wrap-around, which a benchmark run never sees).
		if err != nil || pid <= w.tfPid || w.other[pid] {
			continue
		}
		_, known := w.peaks[pid]
		ppid, comm, ticks, ok := statOf(pid)
		if !ok {
			continue
		}
		if !known {
			if ppid != w.tfPid {
				w.other[pid] = true
				continue
			}
			// A child between fork and exec still looks like terraform:
			// look again next time.
			if !strings.HasPrefix(comm, "terraform-provi") {
				continue
			}
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && !strings.HasPrefix(filepath.Base(exe), "terraform-provider-") {
				w.other[pid] = true
				continue
			}
		}
		if kb := vmHWM(pid); kb > w.peaks[pid] {
			w.peaks[pid] = kb
		}
		w.ticks[pid] = max(w.ticks[pid], ticks)
	}
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/pid/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// statOf returns the parent pid, command name and CPU time (utime+stime, in
// clock ticks) of pid from /proc/pid/stat.
func statOf(pid int) (ppid int, comm string, ticks int64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", 0, false
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return 0, "", 0, false
	}
	comm = s[open+1 : closing]
	fields := strings.Fields(s[closing+1:]) // field 3 (state) onwards: ppid is field 4, utime 14, stime 15
	if len(fields) < 13 {
		return 0, "", 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return ppid, comm, utime + stime, err == nil
}

// vmHWM reads the peak resident set size of pid, in KiB (0 if unknown).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
