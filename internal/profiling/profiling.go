// Package profiling writes CPU and heap profiles of the process that
// imports it, for profiling the provider and the plugin floor in
// bench/README.md ("Profiling the provider"). Main packages import it only
// in builds with -tags pprof (pprof.go beside their main.go). With
// CMDOP_PPROF_DIR set, the process writes a CPU profile from its start, and
// on SIGUSR1 stops it and writes a heap profile, into that directory.
package profiling

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
)

func init() {
	dir := os.Getenv("CMDOP_PPROF_DIR")
	if dir == "" {
		return
	}
	name := func(kind string) string { return filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", kind, os.Getpid())) }
	cpu, err := os.Create(name("cpu"))
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		panic(err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGUSR1)
	go func() {
		<-stop
		pprof.StopCPUProfile()
		_ = cpu.Close()
		runtime.GC()
		if heap, err := os.Create(name("heap")); err == nil {
			_ = pprof.WriteHeapProfile(heap)
			_ = heap.Close()
		}
		fmt.Fprintln(os.Stderr, "profiles written to", dir)
	}()
}
