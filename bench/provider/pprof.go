//go:build pprof

package main

// Profiling (bench/README.md, "Profiling the provider"): go build -tags pprof.
import _ "github.com/cmdop/terraform-provider-cmdop/internal/profiling"
