package provider

// Ephemeral tokens die with the run.
//
// Terraform closes an ephemeral resource at the end of a plan or an apply
// that succeeds. After a plan or an apply that fails once the resource is
// open (1.11.4, 1.15.0 and 1.16.0 were seen doing this), it sends no
// CloseEphemeralResource at all. What it always does is stop the plugin:
// it asks go-plugin's controller to shut down, which makes tf6server's Serve
// return, and kills the process 2 seconds later if it is still running.
//
// So the provider keeps a ledger of every ephemeral token it opened and has
// not closed, and revokes what is left:
//   - when Serve returns (a graceful stop: the end of every run, a failed one
//     or an interrupted one included), within ephemeralStopBudget, which fits
//     inside go-plugin's 2 seconds;
//   - on SIGTERM, before the process exits;
//   - when the process that started the plugin is gone (Terraform killed, or
//     exiting after a second Ctrl-C without stopping its plugins).
//
// Only a SIGKILL of the plugin itself leaves a token to its ttl.

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
)

// ephemeralStopBudget bounds the revocations at a stop, all tokens at once:
// go-plugin kills the plugin 2 seconds after asking it to stop.
const ephemeralStopBudget = 1500 * time.Millisecond

// parentPollInterval is how often the plugin checks that Terraform, which
// started it, still runs.
const parentPollInterval = 250 * time.Millisecond

// ephemeralRef names one open ephemeral token.
type ephemeralRef struct {
	fleetID string
	id      string
}

// ephemeralLedger holds the ephemeral tokens this provider process opened
// and has not closed, each with the client that opened it (an aliased
// provider has its own credentials).
type ephemeralLedger struct {
	mu   sync.Mutex
	open map[ephemeralRef]*cmdop.Client
}

func newEphemeralLedger() *ephemeralLedger {
	return &ephemeralLedger{open: map[ephemeralRef]*cmdop.Client{}}
}

// opened records a token that Open issued.
func (l *ephemeralLedger) opened(client *cmdop.Client, fleetID, id string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open[ephemeralRef{fleetID: fleetID, id: id}] = client
}

// closed forgets a token that Close revoked.
func (l *ephemeralLedger) closed(fleetID, id string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.open, ephemeralRef{fleetID: fleetID, id: id})
}

// pending is how many tokens are open.
func (l *ephemeralLedger) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.open)
}

// revokeOpen revokes every open token, all at once, within ephemeralStopBudget, and
// reports how many it revoked and how many it could not. A token the API
// says is gone or already revoked counts as revoked. Those it revoked leave
// the ledger; the others stay for a later attempt.
func (l *ephemeralLedger) revokeOpen(ctx context.Context) (revoked, failed int) {
	l.mu.Lock()
	todo := make(map[ephemeralRef]*cmdop.Client, len(l.open))
	for ref, c := range l.open {
		todo[ref] = c
	}
	l.mu.Unlock()
	if len(todo) == 0 {
		return 0, 0
	}
	ctx = cmdop.MaskSecrets(ctx)
	ctx, cancel := context.WithTimeout(ctx, ephemeralStopBudget)
	defer cancel()
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for ref, client := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := revokeIfPresent(ctx, client.RevokeToken, ref.fleetID, ref.id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				tflog.Warn(ctx, "Could not revoke an ephemeral CMDOP token that Terraform did not close; it expires at the end of its ttl",
					map[string]any{"token_id": ref.id, "fleet_id": ref.fleetID, "error": err.Error()})
				return
			}
			revoked++
			l.closed(ref.fleetID, ref.id)
		}()
	}
	wg.Wait()
	tflog.Debug(ctx, "Revoked the ephemeral CMDOP tokens that Terraform did not close", map[string]any{"revoked": revoked, "failed": failed})
	return revoked, failed
}

// guardEphemeral revokes the ledger's tokens when the process is told to
// terminate (SIGTERM) or loses its parent, then exits. The returned stop
// ends the watch.
func guardEphemeral(l *ephemeralLedger) (stop func()) {
	done := make(chan struct{})
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	parent := os.Getppid()
	go func() {
		tick := time.NewTicker(parentPollInterval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-term:
				l.revokeOpen(context.Background())
				os.Exit(143)
			case <-tick.C:
				if os.Getppid() != parent {
					l.revokeOpen(context.Background())
					os.Exit(1)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(term)
			close(done)
		})
	}
}
