package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// providerData is what Configure hands to every resource and data source.
type providerData struct {
	client *cmdop.Client
	// tokens serves the token resources' reads from one listing per
	// collection, for the life of this provider process.
	tokens  *cmdop.TokenCache
	fleetID string
	// clientErr explains why there is no client (no token); it is reported
	// only when an operation actually needs the API.
	clientErr string
	// configUnknown: the configuration holds values known only during apply.
	configUnknown bool
	// baseURL is the API base URL, as scheme and host, for error messages.
	baseURL string
	// keyPrefix is the public prefix of the provider's token and
	// tokenSource where it came from, for a 401.
	keyPrefix, tokenSource string
	// policy is the token policy (token_policy.go); nil when there is none.
	policy *tokenPolicies
	// ephemeral is the provider's ledger of open ephemeral tokens.
	ephemeral *ephemeralLedger

	// Facts fetched once per provider process: who the provider's token
	// belongs to, and which fleets it can reach.
	mu       sync.Mutex
	acct     *cmdopapi.Account
	fleetErr map[string]error // fleet → the outcome of its check
	// clockTried: serverNow has asked the API for its clock once.
	clockTried bool
	// nullSecretWarned: a plan has warned that an imported token has no secret.
	nullSecretWarned atomic.Bool
}

// firstNullSecret reports whether this is the first token of this provider
// process (one plan) found without a secret.
func (d *providerData) firstNullSecret() bool { return !d.nullSecretWarned.Swap(true) }

// account returns who the provider is authenticated as: the who-am-I call,
// made once per provider process (a failure is not kept, so the next caller
// tries again). It also sets the client's view of the server's clock.
func (d *providerData) account(ctx context.Context) (*cmdopapi.Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.acct != nil {
		return d.acct, nil
	}
	acct, err := d.client.Account(ctx)
	if err != nil {
		return nil, err
	}
	d.acct = acct
	return acct, nil
}

// serverNow is the API server's clock. Every expiry decision and give-up
// window uses it: it asks the API once per process, if nothing else has
// yet, so that it never falls back to this machine's clock.
func (d *providerData) serverNow(ctx context.Context) time.Time {
	d.mu.Lock()
	tried := d.clockTried
	d.clockTried = true
	d.mu.Unlock()
	if !tried {
		ctx, cancel := context.WithTimeout(ctx, planCheckTimeout)
		defer cancel()
		_, _ = d.account(ctx) // a failure leaves the local clock: the calls that need the API report it
	}
	return d.client.ServerNow()
}

// checkFleet makes sure the provider's token can reach fleet: once per
// fleet per provider process (the answer, failure included, is kept),
// through the token listing that the resources' reads share, so that it
// costs no extra request. The check is bounded by planCheckTimeout.
func (d *providerData) checkFleet(ctx context.Context, fleet string) error {
	d.mu.Lock()
	err, done := d.fleetErr[fleet]
	d.mu.Unlock()
	if done {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, planCheckTimeout)
	defer cancel()
	err = d.tokens.CheckCollection(ctx, fleet)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fleetErr == nil {
		d.fleetErr = map[string]error{}
	}
	d.fleetErr[fleet] = err
	return err
}

// planCheckTimeout bounds each plan-time call (the fleet check, the clock,
// who-am-I), so that a slow API never holds a plan for long.
const planCheckTimeout = 10 * time.Second

// providerDataFrom unpacks what Configure handed over; nil before then.
func providerDataFrom(v any, diags *diag.Diagnostics) *providerData {
	if v == nil {
		return nil
	}
	data, ok := v.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider.", v))
	}
	return data
}

// clientFrom returns the API client, or reports why there is none.
func clientFrom(d *providerData, diags *diag.Diagnostics) *cmdop.Client {
	switch {
	case d == nil:
		diags.AddError("Provider not configured", "The cmdop provider was not configured before use. This is a bug in the provider or Terraform.")
	case d.client == nil:
		diags.AddError("Missing CMDOP API token", d.clientErr)
	}
	if d == nil {
		return nil
	}
	return d.client
}

// resolveFleet resolves a fleet_id argument: as configured, or else the
// provider's default. When there is none it reports the missing fleet on
// fleet_id, saying where to set it (what names the object: "the data
// source"), and returns "".
func (d *providerData) resolveFleet(configured types.String, what string, diags *diag.Diagnostics) string {
	if !configured.IsNull() {
		return configured.ValueString()
	}
	if d.fleetID == "" {
		diags.AddAttributeError(path.Root("fleet_id"), "Missing fleet ID",
			"Set fleet_id on "+what+", or fleet_id on the provider (or the "+envFleetID+" environment variable).")
	}
	return d.fleetID
}

// resolveCollection resolves the collection that a configuration of kind
// addresses: for fleet tokens the fleet (configured, or else the provider's
// default, written back into *configured), for personal tokens "". ok is
// false, with the error reported, when a fleet token has no fleet.
func (d *providerData) resolveCollection(kind tokenKind, configured *types.String, what string, diags *diag.Diagnostics) (fleet string, ok bool) {
	if !kind.fleet {
		return "", true
	}
	if fleet = d.resolveFleet(*configured, what, diags); fleet == "" {
		return "", false
	}
	*configured = types.StringValue(fleet)
	return fleet, true
}

// revokeIfPresent revokes a token; one already revoked, or that the API
// says does not exist in its collection, is fine. Any other error,
// including a missing fleet or a wrong URL, is returned.
func revokeIfPresent(ctx context.Context, revoke func(context.Context, string, string) error, fleetID, id string) error {
	if err := revoke(ctx, fleetID, id); err != nil && !errors.Is(err, cmdop.ErrTokenNotFound) {
		return err
	}
	return nil
}
