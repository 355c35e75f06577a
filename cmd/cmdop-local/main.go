// Command cmdop-local serves a local implementation of the CMDOP token and
// audit API for development and tests.
//
// On start it prints three shell lines to standard output, flushed at once:
//
//	export CMDOP_API_BASE_URL=http://127.0.0.1:PORT
//	export CMDOP_TOKEN=cmdop_...
//	export CMDOP_FLEET_ID=...
//
// A script can run it in the background with its output going to a file and,
// once that file has three lines, source it:
//
//	cmdop-local --addr 127.0.0.1:0 >env.sh 2>cmdop-local.log &
//	until [ "$(wc -l <env.sh)" -ge 3 ]; do sleep 0.1; done
//	. ./env.sh
//
// It logs one line per request on standard error and stops cleanly, exiting
// 0, on SIGINT or SIGTERM. Run it with -h for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// version is set by goreleaser through -X main.version. A binary built by
// `go install …/cmd/cmdop-local@vX.Y.Z` keeps "dev" here and reports the
// module version from its build information instead.
var version = "dev"

// versionString is what --version prints: "cmdop-local X.Y.Z".
func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = strings.TrimPrefix(info.Main.Version, "v")
	}
	return "cmdop-local " + v
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "cmdop-local:", err)
		os.Exit(1)
	}
}

const usage = `Usage: cmdop-local [flags]

Serves a local CMDOP token and audit API. On start it prints, on standard
output, three lines to eval:

  export CMDOP_API_BASE_URL=http://127.0.0.1:PORT
  export CMDOP_TOKEN=cmdop_...      (the admin token: all scopes, fleet owner)
  export CMDOP_FLEET_ID=...

Requests are logged on standard error. SIGINT or SIGTERM stops it cleanly.

State: without --state everything lives in memory. With --state FILE the
state is loaded from FILE if it exists, and otherwise seeded and saved there;
every change is saved before it is acknowledged. --admin-token and --fleet-id
apply only when seeding: with an existing FILE the stored data is kept. The
file holds only a hash of the admin token, so to get CMDOP_TOKEN printed
again after a restart pass the same --admin-token.

Test controls (admin token required): GET/POST /_local/clock,
GET/POST /_local/faults, GET/DELETE /_local/stats, POST /_local/members,
DELETE /_local/members/{user_id}, POST /_local/fleets.

Flags:
`

// run is the whole command; main only wires it to the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cmdop-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8790", "listen address; port 0 picks a free port")
	adminToken := fs.String("admin-token", "", "secret of the seeded admin token (cmdop_ and 32+ base62 characters); generated if empty; only used when seeding")
	fleetID := fs.String("fleet-id", "", "id of the seeded fleet; a UUID is generated if empty; only used when seeding")
	statePath := fs.String("state", "", "state file to load and save; empty keeps everything in memory")
	failRate := fs.Float64("fail-rate", 0, "probability in [0,1] of injecting a fault (unavailable, drop, rate_limit) into an /api request")
	latency := fs.Duration("latency", 0, "latency added to every /api request, e.g. 20ms")
	rateLimit := fs.Float64("rate-limit", 0, "global limit of /api requests per second; 0 means none")
	seed := fs.Int64("seed", 0, "seed of the random fault generator")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		_, err := fmt.Fprintln(stdout, versionString())
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}

	logger := log.New(stderr, "cmdop-local: ", log.LstdFlags|log.Lmicroseconds)
	srv, err := cmdoplocal.New(cmdoplocal.Options{
		AdminToken: *adminToken,
		FleetID:    *fleetID,
		StatePath:  *statePath,
		FailRate:   *failRate,
		Latency:    *latency,
		RateLimit:  *rateLimit,
		Seed:       *seed,
		Logger:     logger,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		_ = srv.Close()
		return err
	}
	baseURL := "http://" + ln.Addr().String()

	token := srv.AdminToken()
	if token == "" {
		logger.Printf("the admin token's secret is not stored in %s; pass the original --admin-token to have CMDOP_TOKEN printed", *statePath)
	}
	// Unbuffered writes: each line reaches a reading script at once.
	fmt.Fprintf(stdout, "export CMDOP_API_BASE_URL=%s\n", shellQuote(baseURL))
	fmt.Fprintf(stdout, "export CMDOP_TOKEN=%s\n", shellQuote(token))
	fmt.Fprintf(stdout, "export CMDOP_FLEET_ID=%s\n", shellQuote(srv.FleetID()))
	if f, ok := stdout.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
	logger.Printf("listening on %s (fleet %s)", baseURL, srv.FleetID())

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	select {
	case err := <-serveErr:
		_ = srv.Close()
		return err
	case <-ctx.Done():
	}
	logger.Printf("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdownCtx)
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	return err
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=-]+$`)

// shellQuote quotes s for a POSIX shell unless it is plainly safe.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
