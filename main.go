package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/cmdop/terraform-provider-cmdop/internal/provider"
)

// version is set by goreleaser through -X main.version.
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()
	provider.QuietUnlessLogging()

	err := provider.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/cmdop/cmdop",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
