// Command cmdop-local serves a local implementation of the CMDOP token and
// audit API for development and tests.
//
// On start it prints four shell lines to standard output, flushed at once:
//
//	export CMDOP_API_BASE_URL=http://127.0.0.1:PORT
//	export CMDOP_TOKEN=cmdop_...
//	export CMDOP_FLEET_ID=...
//	export CMDOP_LOCAL_CONTROL_TOKEN=...
//
// A script can run it in the background with its output going to a file and,
// once that file has four lines, source it:
//
//	cmdop-local --addr 127.0.0.1:0 >env.sh 2>cmdop-local.log &
//	until [ "$(wc -l <env.sh)" -ge 4 ]; do sleep 0.1; done
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
output, four export lines: redirect them to a file and source it once they
are there (eval "$(cmdop-local)" would wait for the server to exit):

  export CMDOP_API_BASE_URL=http://127.0.0.1:PORT
  export CMDOP_TOKEN=cmdop_...      (the admin token: all scopes, fleet owner)
  export CMDOP_FLEET_ID=...
  export CMDOP_LOCAL_CONTROL_TOKEN=... (for the test controls under /_local/)

Requests are logged on standard error. SIGINT or SIGTERM stops it cleanly.

State: without --state everything lives in memory. With --state FILE the
state lives in the SQLite database FILE (created 0600 if missing); every
change is committed before it is acknowledged. A JSON state file of an
earlier cmdop-local is imported, its original kept as FILE.json-v1.
--admin-token and --fleet-id apply only when seeding: with an existing FILE
the stored data is kept. The file holds only a hash of the admin token, so
to get CMDOP_TOKEN printed again after a restart give the same admin token.

The admin token can come from --admin-token, --admin-token-file FILE or the
environment variable CMDOP_LOCAL_ADMIN_TOKEN; the last two keep it out of ps.

Test controls, which take only the control token (--control-token,
--control-token-file, CMDOP_LOCAL_CONTROL_TOKEN, or generated at each start),
never an API token: GET/POST /_local/clock, GET/POST /_local/faults,
GET/DELETE /_local/stats, POST /_local/members,
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
	adminToken := fs.String("admin-token", "", "secret of the seeded admin token (cmdop_ and 32+ base62 characters); shows in ps, so prefer --admin-token-file or CMDOP_LOCAL_ADMIN_TOKEN; generated if none is given")
	adminTokenFile := fs.String("admin-token-file", "", "file holding the admin token's secret")
	controlToken := fs.String("control-token", "", "the token of the test controls under /_local/ (32 to 256 of A-Z a-z 0-9 _ -); shows in ps, so prefer --control-token-file or CMDOP_LOCAL_CONTROL_TOKEN; generated if none is given")
	controlTokenFile := fs.String("control-token-file", "", "file holding the control token")
	retentionFlag := fs.String("audit-retention", "100000", `audit events kept: a count per collection (each fleet, and each user's personal tokens), an age in server time such as 30d, both as "100000,30d", or "off"`)
	retentionTotal := fs.String("audit-retention-total", "500000", `audit events kept over all collections, for disk: beyond it the largest collections are trimmed first; "off" for no cap`)
	fleetID := fs.String("fleet-id", "", "id of the seeded fleet; a UUID is generated if empty; only used when seeding")
	statePath := fs.String("state", "", "SQLite state database to open or create; empty keeps everything in memory")
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

	admin, err := secretFrom("admin token", *adminToken, *adminTokenFile, "CMDOP_LOCAL_ADMIN_TOKEN")
	if err != nil {
		return err
	}
	control, err := secretFrom("control token", *controlToken, *controlTokenFile, "CMDOP_LOCAL_CONTROL_TOKEN")
	if err != nil {
		return err
	}
	retention, err := cmdoplocal.ParseRetention(*retentionFlag)
	if err != nil {
		return err
	}
	if retention.MaxTotal, err = cmdoplocal.ParseRetentionTotal(*retentionTotal); err != nil {
		return err
	}

	logger := log.New(stderr, "cmdop-local: ", log.LstdFlags|log.Lmicroseconds)
	srv, err := cmdoplocal.New(cmdoplocal.Options{
		AdminToken:     admin,
		ControlToken:   control,
		AuditRetention: retention,
		FleetID:        *fleetID,
		StatePath:      *statePath,
		FailRate:       *failRate,
		Latency:        *latency,
		RateLimit:      *rateLimit,
		Seed:           *seed,
		Logger:         logger,
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
		logger.Printf("the admin token's secret is not stored in %s; give the original admin token (CMDOP_LOCAL_ADMIN_TOKEN, --admin-token-file or --admin-token) to have CMDOP_TOKEN printed", *statePath)
	}
	// Unbuffered writes: each line reaches a reading script at once.
	fmt.Fprintf(stdout, "export CMDOP_API_BASE_URL=%s\n", shellQuote(baseURL))
	fmt.Fprintf(stdout, "export CMDOP_TOKEN=%s\n", shellQuote(token))
	fmt.Fprintf(stdout, "export CMDOP_FLEET_ID=%s\n", shellQuote(srv.FleetID()))
	fmt.Fprintf(stdout, "export CMDOP_LOCAL_CONTROL_TOKEN=%s\n", shellQuote(srv.ControlToken()))
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

// secretFrom picks a secret from its flag, its file or its environment
// variable, in that order; "" means none was given.
func secretFrom(what, flagValue, file, envVar string) (string, error) {
	if flagValue != "" && file != "" {
		return "", fmt.Errorf("give the %s with a flag or a file, not both", what)
	}
	if flagValue != "" {
		return flagValue, nil
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading the %s: %w", what, err)
		}
		v := strings.TrimSpace(string(data))
		if v == "" {
			return "", fmt.Errorf("the %s file %s is empty", what, file)
		}
		return v, nil
	}
	return strings.TrimSpace(os.Getenv(envVar)), nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=-]+$`)

// shellQuote quotes s for a POSIX shell unless it is plainly safe.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
