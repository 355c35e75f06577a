// Package localtest is the one test harness for cmdop-local. Start runs it
// in process, behind a contract checker: every request and response of the
// test is held to internal/cmdopapi/openapi.yaml, and any violation fails
// the test at cleanup. StartBinary runs the real binary and reads the
// export lines it prints. The client's, cmdop-local's and the provider's
// tests all use it, and so does the bench.
package localtest

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
	"github.com/cmdop/terraform-provider-cmdop/internal/contracttest"
)

// API is one in-process cmdop-local.
type API struct {
	// URL is the contract-checked base URL.
	URL string
	// Server is cmdop-local itself: its Go controls move the clock, inject
	// faults, read statistics and add members and fleets.
	Server *cmdoplocal.Server
	// AdminToken is the seeded admin's token, which holds every scope.
	AdminToken string
	// FleetID is the seeded fleet.
	FleetID string
	// Admin is a client with the admin's token that never retries.
	Admin *cmdop.Client

	checker *contracttest.Checker
	hs      *httptest.Server
}

// Start runs cmdop-local with opts for the length of the test (Serve), and
// closes it at cleanup.
func Start(t testing.TB, opts cmdoplocal.Options) *API {
	t.Helper()
	srv, err := cmdoplocal.New(opts)
	if err != nil {
		t.Fatalf("starting cmdop-local: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("closing cmdop-local: %v", err)
		}
	})
	return Serve(t, srv)
}

// Serve serves srv, which the caller owns, behind the contract checker
// until cleanup or Close. At cleanup, each contract violation seen is a
// test error.
func Serve(t testing.TB, srv *cmdoplocal.Server) *API {
	t.Helper()
	checker, err := contracttest.Wrap(srv)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(checker)
	a := &API{URL: hs.URL, Server: srv, AdminToken: srv.AdminToken(), FleetID: srv.FleetID(), checker: checker, hs: hs}
	t.Cleanup(func() {
		hs.Close()
		for _, v := range checker.Violations() {
			t.Errorf("contract violation: %s", v)
		}
	})
	a.Admin = a.Client(t, a.AdminToken, -1)
	return a
}

// Close stops serving before the test ends, as a restart does.
func (a *API) Close() { a.hs.Close() }

// HTTPClient is a plain HTTP client for this API.
func (a *API) HTTPClient() *http.Client { return a.hs.Client() }

// Client returns a client of this API with token. retries is the client's
// MaxRetries (0 for its default, negative for none); the backoff is short,
// for tests.
func (a *API) Client(t testing.TB, token string, retries int) *cmdop.Client {
	t.Helper()
	c, err := cmdop.New(cmdop.Config{
		BaseURL: a.URL, Token: token, Version: "test", MaxRetries: retries,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Checked is how many exchanges the contract checker validated.
func (a *API) Checked() int { return a.checker.Checked() }

// Violations lists the contract violations seen so far.
func (a *API) Violations() []string { return a.checker.Violations() }

// RepoRoot is the repository's root directory.
func RepoRoot() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "..")
}
