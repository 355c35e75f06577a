package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// durabilityAdminToken is a fixed, valid admin secret: cmdop_ and 40 base62
// characters. The same one is given on every restart, through the
// environment (never argv), so that CMDOP_TOKEN is printed again (the state
// database holds only its hash).
const durabilityAdminToken = "cmdop_D0rab1l1tyL00pT3stAdm1nT0k3nXyZ012345678"

// rawSecret matches what a raw token secret looks like.
var rawSecret = regexp.MustCompile(`cmdop_[0-9A-Za-z]{32,}`)

const (
	durabilityRestarts = 20 // kill -9 / restart cycles
	durabilityWorkers  = 8  // concurrent creators per burst
)

// TestDurabilityKillLoop builds cmdop-local, then repeatedly starts it on one
// state database, fires a burst of concurrent creates at it and kill -9s it
// mid-burst. Every restart must open the database and still list every
// create that was acknowledged with a 201, and no file beside it (the
// database, its WAL and shared-memory files) may ever hold a raw secret or
// be readable by others.
func TestDurabilityKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kill -9s cmdop-local 20 times; skipped with -short")
	}
	if len(durabilityAdminToken) != len("cmdop_")+40 || !rawSecret.MatchString(durabilityAdminToken) {
		t.Fatalf("bad fixed admin token %q", durabilityAdminToken)
	}
	start := time.Now()
	bin := localtest.BuildBinary(t)
	t.Logf("built %s in %s", filepath.Base(bin), time.Since(start).Round(time.Millisecond))

	dir := t.TempDir()
	state := filepath.Join(dir, "state.db")
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CMDOP_DURABILITY_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CMDOP_DURABILITY_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Logf("random seed %d (repeat this run with CMDOP_DURABILITY_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	acked := map[string]string{} // token ID -> raw secret, across every iteration
	var fleetID string
	restarts, kills := 0, 0
	for i := 0; i <= durabilityRestarts; i++ {
		var stderr localtest.Tail
		p := localtest.StartBinary(t, bin, []string{"CMDOP_LOCAL_ADMIN_TOKEN=" + durabilityAdminToken}, &stderr,
			"--addr", "127.0.0.1:0", "--state", state)
		if i > 0 {
			restarts++
		}
		if p.AdminToken != durabilityAdminToken {
			t.Fatalf("iteration %d: CMDOP_TOKEN %q, want the fixed admin token", i, p.AdminToken)
		}
		if fleetID == "" {
			fleetID = p.FleetID
		} else if p.FleetID != fleetID {
			t.Fatalf("iteration %d: fleet %q after restart, want %q", i, p.FleetID, fleetID)
		}
		client, err := cmdop.New(cmdop.Config{BaseURL: p.URL, Token: p.AdminToken, MaxRetries: -1, RequestTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		verifyDurable(t, i, client, fleetID, state, acked)
		if i == durabilityRestarts {
			p.Kill() // verified; the loop is over
			break
		}

		delay := time.Duration(10+rng.IntN(141)) * time.Millisecond
		got, unexpected := burstThenKill(p, client, fleetID, delay)
		kills++
		for _, err := range unexpected {
			t.Errorf("iteration %d: create failed before the kill: %v", i, err)
		}
		for id, secret := range got {
			if _, dup := acked[id]; dup {
				t.Errorf("iteration %d: token ID %s acknowledged twice", i, id)
			}
			acked[id] = secret
		}
		if t.Failed() {
			t.Logf("cmdop-local stderr (tail):\n%s", stderr.String())
			t.FailNow()
		}
	}
	if len(acked) == 0 {
		t.Fatal("no create was acknowledged in any burst: the test checked nothing")
	}
	t.Logf("kill -9s: %d, restarts survived: %d, acknowledged creates verified after the last restart: %d, total time %s",
		kills, restarts, len(acked), time.Since(start).Round(time.Millisecond))
}

// verifyDurable checks that every acknowledged token is listed and that no
// file in the state directory (the database, its -wal and -shm files) holds
// a raw secret or has a mode other than 0600.
func verifyDurable(t *testing.T, iter int, client *cmdop.Client, fleetID, state string, acked map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listed, err := client.ListAllTokens(ctx, fleetID)
	if err != nil {
		t.Fatalf("iteration %d: listing tokens after restart: %v", iter, err)
	}
	have := make(map[string]bool, len(listed))
	for _, tok := range listed {
		have[tok.ID] = true
		if tok.RawToken != "" {
			t.Errorf("iteration %d: the listing returns the raw secret of %s", iter, tok.ID)
		}
	}
	missing := 0
	for id := range acked {
		if !have[id] {
			missing++
			if missing <= 5 {
				t.Errorf("iteration %d: acknowledged token %s is missing after kill -9 and restart", iter, id)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("iteration %d: %d of %d acknowledged tokens lost", iter, missing, len(acked))
	}

	entries, err := os.ReadDir(filepath.Dir(state))
	if err != nil {
		t.Fatal(err)
	}
	sawState := false
	for _, e := range entries {
		path := filepath.Join(filepath.Dir(state), e.Name())
		if path == state {
			sawState = true
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if info, err := e.Info(); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("iteration %d: %s has mode %v (%v), want 0600", iter, e.Name(), info.Mode().Perm(), err)
		}
		if m := rawSecret.Find(data); m != nil {
			t.Fatalf("iteration %d: %s holds a raw secret %.12s…", iter, e.Name(), m)
		}
		for id, secret := range acked {
			if strings.Contains(string(data), secret) {
				t.Fatalf("iteration %d: %s holds the raw secret of token %s", iter, e.Name(), id)
			}
		}
	}
	if !sawState {
		t.Fatalf("iteration %d: no state file %s", iter, state)
	}
}

// burstThenKill runs durabilityWorkers goroutines creating fleet tokens as
// fast as they can, kill -9s the process after delay, and returns every
// create answered 201 (ID -> raw secret) and the errors seen before the kill.
func burstThenKill(p *localtest.Process, client *cmdop.Client, fleetID string, delay time.Duration) (map[string]string, []error) {
	var (
		mu         sync.Mutex
		acked      = map[string]string{}
		unexpected []error
		killed     atomic.Bool
		wg         sync.WaitGroup
		seq        atomic.Int64
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for w := 0; w < durabilityWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !killed.Load() {
				n := seq.Add(1)
				tok, err := client.CreateToken(ctx, fleetID, cmdopapi.CreateTokenRequest{
					Name: fmt.Sprintf("durability-%d", n), Scopes: []string{"machines:read"},
				}, "")
				if err != nil {
					if !killed.Load() {
						mu.Lock()
						unexpected = append(unexpected, err)
						mu.Unlock()
					}
					return
				}
				// A 201 reached the client: the create was acknowledged,
				// whether or not the kill has been sent since.
				mu.Lock()
				acked[tok.ID] = tok.RawToken
				mu.Unlock()
			}
		}()
	}
	time.Sleep(delay)
	killed.Store(true) // before the kill: every error after this may be the kill's
	p.Kill()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cancel()
		<-done
	}
	return acked, unexpected
}
