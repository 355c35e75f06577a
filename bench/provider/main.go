// Command provider is terraform-provider-cmdop as the root's main.go serves
// it, built inside the benchmark's module so that profiling it
// (bench/README.md, "Profiling the provider") needs nothing in the
// provider's own module: go build -tags pprof ./provider, from bench/.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/cmdop/terraform-provider-cmdop/internal/provider"
)

func main() {
	debug := flag.Bool("debug", false, "run in debug mode (for bench/profile.sh)")
	flag.Parse()
	provider.QuietUnlessLogging()
	err := provider.Serve(context.Background(), provider.New("pprof"), providerserver.ServeOpts{
		Address: "registry.terraform.io/cmdop/cmdop",
		Debug:   *debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
