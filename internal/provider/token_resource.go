package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/fwcompat"
	"github.com/cmdop/terraform-provider-cmdop/internal/validators"
)

// Default operation timeouts; the timeouts block overrides them.
const (
	defaultCreateTimeout = 5 * time.Minute
	defaultReadTimeout   = 2 * time.Minute
	defaultDeleteTimeout = 5 * time.Minute
	// minTimeout is the shortest timeout the plan accepts.
	minTimeout = time.Second
)

// tokenResource implements cmdop_fleet_token and cmdop_personal_token.
type tokenResource struct {
	kind tokenKind
	data *providerData
}

var (
	_ resource.ResourceWithConfigure      = (*tokenResource)(nil)
	_ resource.ResourceWithImportState    = (*tokenResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*tokenResource)(nil)
	_ resource.ResourceWithValidateConfig = (*tokenResource)(nil)
)

func (r *tokenResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.kind.typeSuffix
}

func (r *tokenResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = r.kind.resourceSchema()
}

func (r *tokenResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// getter and setter are satisfied by tfsdk.Config, tfsdk.Plan and tfsdk.State.
type getter interface {
	Get(ctx context.Context, target any) diag.Diagnostics
}
type setter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

// getModel reads the model through its kind's view.
func (r *tokenResource) getModel(ctx context.Context, src getter, diags *diag.Diagnostics) *tokenResourceModel {
	if r.kind.fleet {
		var v fleetTokenState
		diags.Append(fwcompat.GetModel(ctx, src, &v)...)
		return &tokenResourceModel{FleetID: v.FleetID, OwnerID: types.StringNull(), commonTokenModel: v.commonTokenModel}
	}
	var v personalTokenState
	diags.Append(fwcompat.GetModel(ctx, src, &v)...)
	return &tokenResourceModel{FleetID: types.StringNull(), OwnerID: v.OwnerID, commonTokenModel: v.commonTokenModel}
}

func (r *tokenResource) setModel(ctx context.Context, dst setter, m *tokenResourceModel, diags *diag.Diagnostics) {
	m.normaliseDelivery(dst)
	if r.kind.fleet {
		diags.Append(fwcompat.SetModel(ctx, dst, &fleetTokenState{FleetID: m.FleetID, commonTokenModel: m.commonTokenModel})...)
		return
	}
	diags.Append(fwcompat.SetModel(ctx, dst, &personalTokenState{OwnerID: m.OwnerID, commonTokenModel: m.commonTokenModel})...)
}

// begin starts an API operation: it masks secrets in the logs, reads the
// model from src, and bounds the context by the operation's timeout (the
// timeouts block's, or def), which also bounds the client's retries.
func (r *tokenResource) begin(ctx context.Context, src getter,
	timeout func(timeouts.Value, context.Context, time.Duration) (time.Duration, diag.Diagnostics), def time.Duration,
	diags *diag.Diagnostics,
) (context.Context, context.CancelFunc, *tokenResourceModel, *cmdop.TokenCache) {
	ctx = cmdop.MaskSecrets(ctx)
	m := r.getModel(ctx, src, diags)
	d, ds := timeout(m.Timeouts, ctx, def)
	diags.Append(ds...)
	if d < minTimeout {
		// Only a value from the state can be this short (the plan refuses
		// it): it must never block a destroy, so the default applies.
		d = def
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, m, r.tokens(diags)
}

// tokens returns the provider's token cache, through which the resource
// makes every API call, or reports why there is none.
func (r *tokenResource) tokens(diags *diag.Diagnostics) *cmdop.TokenCache {
	if clientFrom(r.data, diags) == nil {
		return nil
	}
	return r.data.tokens
}

// collectionOf is the collection argument of the client: the fleet, or "" for
// the caller's personal tokens.
func (r *tokenResource) collectionOf(m *tokenResourceModel) string {
	if !r.kind.fleet {
		return ""
	}
	return m.FleetID.ValueString()
}

func (r *tokenResource) describe(m *tokenResourceModel) string {
	s := r.kind.label
	if n := m.Name.ValueString(); n != "" {
		s += fmt.Sprintf(" %q", n)
	}
	if id := m.ID.ValueString(); id != "" {
		s += " (" + id + ")"
	}
	return s
}

func (r *tokenResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	ctx, cancel, plan, tokens := r.begin(ctx, req.Plan, timeouts.Value.Create, defaultCreateTimeout, &resp.Diagnostics)
	defer cancel()
	if resp.Diagnostics.HasError() {
		return
	}

	in, diags := createRequest(ctx, plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Who the provider is (once per process): a personal token records its
	// owner, and the answer sets the server clock that a placeholder's
	// give-up window is measured on.
	if acct, err := r.data.account(ctx); err == nil && !r.kind.fleet {
		plan.OwnerID = types.StringValue(acct.UserID)
	}
	// One idempotency key for the whole create: the client's retries reuse
	// it, so a create whose response was lost never mints a second token.
	key := uuid.NewString()
	tok, err := tokens.CreateToken(ctx, r.collectionOf(plan), in, key)
	if err != nil {
		resp.Diagnostics.Append(r.data.apiError("creating", r.describe(plan), r.collectionOf(plan), err))
		if mayHaveCreated(err) {
			r.recordPending(ctx, resp, plan, key, tokens.ServerNow())
		}
		return
	}
	if !r.deliverSecret(ctx, tokens, plan, tok, resp) { // the secret, or its fingerprint (token_resource_delivery.go)
		return
	}
	plan.applyToken(tok)
	r.setModel(ctx, &resp.State, plan, &resp.Diagnostics)
	r.setIdentity(ctx, resp.Identity, plan, &resp.Diagnostics)
}

// checkOwner refuses to act on another user's personal token: with a
// colleague's credentials the token is not in their collection, and "not
// found" there must never drop it from state or re-issue it. It reports
// false, with an error that says what to run, when the operation must stop.
func (r *tokenResource) checkOwner(ctx context.Context, m *tokenResourceModel, op string, diags *diag.Diagnostics) bool {
	if r.kind.fleet {
		return true
	}
	acct, err := r.data.account(ctx)
	if err != nil {
		diags.Append(r.data.apiError(op, r.describe(m), "", err))
		return false
	}
	if acct.TokenType != cmdopapi.TokenTypePersonal {
		diags.AddError(fmt.Sprintf("Cannot manage the %s with a fleet token", r.describe(m)),
			fmt.Sprintf("Personal tokens belong to a user, and only that user's personal token can read, replace or revoke them; "+
				"the provider is authenticated with a fleet token of fleet %s. Set the provider's token (or CMDOP_TOKEN) to a personal "+
				"token of the owner, then run the command again. Nothing was changed.", acct.FleetID))
		return false
	}
	if owner := m.OwnerID.ValueString(); owner != "" && owner != acct.UserID {
		diags.AddError(fmt.Sprintf("The %s belongs to another user", r.describe(m)),
			fmt.Sprintf("Personal token %s belongs to user %s; the provider is authenticated as user %s. Nothing was read, "+
				"replaced or revoked, and the state is unchanged. Run the command with a personal token of user %s (the provider's "+
				"token argument or CMDOP_TOKEN). To stop managing the token without revoking it, run: terraform state rm <this resource's address>.",
				m.ID.ValueString(), owner, acct.UserID, owner))
		return false
	}
	return true
}

// createRequest builds the create body from the configuration. It is
// deterministic (scopes sorted), so that replaying it with the same
// idempotency key finds the original create.
func createRequest(ctx context.Context, m *tokenResourceModel) (cmdopapi.CreateTokenRequest, diag.Diagnostics) {
	in := cmdopapi.CreateTokenRequest{Name: m.Name.ValueString()}
	diags := m.Scopes.ElementsAs(ctx, &in.Scopes, false)
	slices.Sort(in.Scopes)
	expiry, err := validators.ParseExpiry(m.Expiry.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("expiry"), "Invalid token expiry", err.Error())
		return in, diags
	}
	switch {
	case expiry.Days > 0:
		in.ExpiresInDays = &expiry.Days
	case !expiry.Never:
		in.ExpiresAt = &expiry.At
	}
	return in, diags
}

// applyToken copies what the API says about a token into the model. It
// never touches the secret, which the API returns only once.
func (m *tokenResourceModel) applyToken(t *cmdopapi.Token) {
	m.ID = types.StringValue(t.ID)
	if t.FleetID != "" {
		m.FleetID = types.StringValue(t.FleetID)
	}
	if t.UserID != "" {
		m.OwnerID = types.StringValue(t.UserID)
	}
	m.Name = types.StringValue(t.Name)
	scopes := make([]string, len(t.Scopes))
	copy(scopes, t.Scopes)
	m.Scopes, _ = types.SetValueFrom(context.Background(), types.StringType, scopes)
	m.KeyPrefix = types.StringValue(t.KeyPrefix)
	m.CreatedAt = timeValue(t.CreatedAt)
	m.ExpiresAt = timePtrValue(t.ExpiresAt)
	m.LastUsedAt = timePtrValue(t.LastUsedAt)
	m.RevokedAt = timePtrValue(t.RevokedAt)
	m.Status = types.StringValue(t.Status)
}

func (r *tokenResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	ctx, cancel, state, tokens := r.begin(ctx, req.State, timeouts.Value.Read, defaultReadTimeout, &resp.Diagnostics)
	defer cancel()
	if resp.Diagnostics.HasError() {
		return
	}
	r.setIdentity(ctx, resp.Identity, state, &resp.Diagnostics) // token_resource_identity.go

	if isPending(state) {
		r.readPending(ctx, tokens, state, resp) // token_resource_pending.go
		return
	}
	if !r.checkFleetKnown(state, &resp.Diagnostics) || !r.checkOwner(ctx, state, "reading", &resp.Diagnostics) {
		return
	}
	tok, err := tokens.GetToken(ctx, r.collectionOf(state), state.ID.ValueString())
	if errors.Is(err, cmdop.ErrTokenNotFound) && r.ownerUnknown(state) && !state.CreatedAt.IsNull() {
		// Not proof of absence: the caller may simply not be its owner,
		// and a personal route shows only the caller's own tokens.
		resp.Diagnostics.AddWarning(fmt.Sprintf("Cannot tell whether the %s still exists", r.describe(state)),
			fmt.Sprintf("The state does not record who owns %s (it predates owner_id, or owner_id is null), and the CMDOP API at %s "+
				"has no such token among the personal tokens of the provider's token's user. That user may simply not be its owner, so "+
				"the token was kept in the state, unchanged, and nothing will be issued or revoked for it on this evidence. To settle it, "+
				"refresh once with a personal token of its owner (terraform apply -refresh-only, with that token in CMDOP_TOKEN), which "+
				"records owner_id; or, if the token is gone, run terraform state rm <this resource's address>.",
				r.describe(state), r.data.baseURL))
		return
	}
	if errors.Is(err, cmdop.ErrTokenNotFound) {
		// Only a validated API's word removes a token: who-am-I has been
		// held to the contract before this answer is believed.
		if _, aerr := r.data.account(ctx); aerr != nil {
			resp.Diagnostics.Append(r.data.apiError("reading", r.describe(state), r.collectionOf(state), aerr))
			return
		}
	}
	if errors.Is(err, cmdop.ErrTokenNotFound) {
		resp.Diagnostics.AddWarning(
			fmt.Sprintf("The %s no longer exists", r.describe(state)),
			fmt.Sprintf("The CMDOP API at %s says that %s does not exist, so it was removed from the Terraform state. "+
				"The next apply issues a new token if the configuration still declares it.", r.data.baseURL, r.describe(state)))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		// Only the token's own absence removes it: a missing fleet, a
		// wrong URL, a transient or a permission error keep it in state.
		resp.Diagnostics.Append(r.data.apiError("reading", r.describe(state), r.collectionOf(state), err))
		return
	}
	read := *state
	state.applyToken(tok)
	if state.Expiry.IsNull() || state.Expiry.IsUnknown() { // after an import
		state.Expiry = types.StringValue(inferExpiry(tok))
	}
	if state.RevokeGracePeriod.IsNull() || state.RevokeGracePeriod.IsUnknown() {
		state.RevokeGracePeriod = types.StringValue(defaultRevokeGracePeriod)
	}
	if !fwcompat.SameValues(state, &read) { // else resp.State, a copy of req.State, is right already
		r.setModel(ctx, &resp.State, state, &resp.Diagnostics)
	}
}

// inferExpiry gives the expiry setting that produced a token, so that an
// imported token whose configuration matches plans no change.
func inferExpiry(t *cmdopapi.Token) string {
	if t.ExpiresAt == nil {
		return validators.ExpiryNever
	}
	lifetime := t.ExpiresAt.Sub(t.CreatedAt)
	for preset, days := range validators.ExpiryPresets {
		if diff := lifetime - time.Duration(days)*24*time.Hour; diff > -time.Second && diff < time.Second {
			return preset
		}
	}
	return t.ExpiresAt.UTC().Format(time.RFC3339Nano)
}

// Update changes only what lives in state alone: revoke_grace_period,
// rotate_before, rotation_triggers added to a token that had none, and
// timeouts. Everything the API holds is immutable and replaces the token.
func (r *tokenResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	plan := r.getModel(ctx, req.Plan, &resp.Diagnostics)
	state := r.getModel(ctx, req.State, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	state.Expiry = plan.Expiry // the same instant written another way (expiryChanged)
	state.RevokeGracePeriod = plan.RevokeGracePeriod
	state.RotateBefore = plan.RotateBefore
	state.RotationTriggers = plan.RotationTriggers
	state.Timeouts = plan.Timeouts
	state.SecretDelivery = plan.SecretDelivery // env and timeout: a changed sink replaces the token
	r.setModel(ctx, &resp.State, state, &resp.Diagnostics)
	r.setIdentity(ctx, resp.Identity, state, &resp.Diagnostics)
}

func (r *tokenResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	ctx, cancel, state, tokens := r.begin(ctx, req.State, timeouts.Value.Delete, defaultDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	if resp.Diagnostics.HasError() {
		return
	}

	if !r.checkFleetKnown(state, &resp.Diagnostics) || !r.checkOwner(ctx, state, "revoking", &resp.Diagnostics) {
		return
	}
	// A token counts as revoked only on the word of an API that proved
	// itself: who-am-I, held to the contract, comes first.
	if _, err := r.data.account(ctx); err != nil {
		resp.Diagnostics.Append(r.data.apiError("revoking", r.describe(state), r.collectionOf(state), err))
		return
	}
	if isPending(state) {
		r.revokePending(ctx, tokens, state, &resp.Diagnostics)
		return
	}
	fleet, id := r.collectionOf(state), state.ID.ValueString()
	grace, _ := validators.ParseDuration(state.RevokeGracePeriod.ValueString())
	revoke := tokens.RevokeToken
	if grace > 0 {
		revoke = func(ctx context.Context, fleet, id string) error { return shortenExpiry(ctx, tokens, fleet, id, grace) }
	}
	if r.ownerUnknown(state) {
		// Read it first: on a personal route, "not found" may only mean
		// that the caller is not its owner, and then nothing is sent.
		if _, err := tokens.RefreshToken(ctx, fleet, id); errors.Is(err, cmdop.ErrTokenNotFound) {
			resp.Diagnostics.AddError(fmt.Sprintf("Cannot tell whether the %s was revoked", r.describe(state)),
				fmt.Sprintf("The state does not record who owns %s, and the CMDOP API at %s has no such token among the personal tokens "+
					"of the provider's token's user, who may not be its owner. Nothing was revoked, and the token stays in the state. Run the "+
					"destroy with a personal token of its owner (the provider's token argument or CMDOP_TOKEN); or, if the token is gone, "+
					"run terraform state rm <this resource's address>.", r.describe(state), r.data.baseURL))
			return
		} else if err != nil {
			resp.Diagnostics.Append(r.data.apiError("revoking", r.describe(state), fleet, err))
			return
		}
	}
	err := revoke(ctx, fleet, id)
	if err != nil && !errors.Is(err, cmdop.ErrTokenNotFound) {
		resp.Diagnostics.Append(r.data.apiError("revoking", r.describe(state), fleet, err))
	}
}

// ownerUnknown: a personal token whose state does not say who owns it.
func (r *tokenResource) ownerUnknown(m *tokenResourceModel) bool {
	return !r.kind.fleet && m.OwnerID.ValueString() == ""
}

// checkFleetKnown refuses a fleet token whose state has no fleet_id: its
// only route is its fleet's, and the personal route must never stand in.
func (r *tokenResource) checkFleetKnown(m *tokenResourceModel, diags *diag.Diagnostics) bool {
	if !r.kind.fleet || m.FleetID.ValueString() != "" || isPending(m) {
		return true
	}
	diags.AddError(fmt.Sprintf("The state of the %s has no fleet_id", r.describe(m)),
		fmt.Sprintf("A fleet token can be read or revoked only in its own fleet, and the state does not say which fleet %s is in, "+
			"so nothing was read or revoked and the state is unchanged. Re-import it with its fleet: "+
			"terraform state rm <this resource's address>, then terraform import <this resource's address> <fleet_id>/%s.",
			r.describe(m), m.ID.ValueString()))
	return false
}

// shortenExpiry lets a token expire grace from now (by the server's clock)
// instead of revoking it, unless it is gone or expires sooner anyway.
func shortenExpiry(ctx context.Context, tokens *cmdop.TokenCache, fleet, id string, grace time.Duration) error {
	tok, err := tokens.RefreshToken(ctx, fleet, id) // fresh, and reads the server's clock
	if err != nil {
		return err
	}
	at := tokens.ServerNow().Add(grace + time.Second - 1).Truncate(time.Second) // rounded up: never in the past
	if tok.Status != cmdopapi.StatusActive || (tok.ExpiresAt != nil && !tok.ExpiresAt.After(at)) {
		return nil
	}
	_, err = tokens.ShortenExpiry(ctx, fleet, id, at)
	return err
}

func (r *tokenResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if req.ID == "" && req.Identity != nil { // import { identity = … } (token_resource_identity.go)
		r.importByIdentity(ctx, req, resp)
		return
	}
	fleetID, tokenID, err := parseImportID(r.kind, req.ID)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Invalid import ID for cmdop_%s", r.kind.typeSuffix), err.Error())
		return
	}
	r.importToken(ctx, resp, fleetID, tokenID)
}

// importToken sets what an import knows, by ID or by identity: the token's
// ID (and fleet), and its identity. The Read that follows fills in the
// rest, inferring expiry, so that a matching configuration plans no change.
func (r *tokenResource) importToken(ctx context.Context, resp *resource.ImportStateResponse, fleetID, tokenID string) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), tokenID)...)
	if r.kind.fleet {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("fleet_id"), fleetID)...)
	}
	resp.Diagnostics.Append(setTokenIdentity(ctx, resp.Identity, r.kind, fleetID, tokenID)...)
}

// parseImportID parses "<fleet_id>/<token_id>" for fleet tokens and
// "<token_id>" for personal tokens.
func parseImportID(kind tokenKind, id string) (fleetID, tokenID string, err error) {
	format := "<token_id>"
	if kind.fleet {
		format = "<fleet_id>/<token_id>"
	}
	bad := func(why string) error {
		return fmt.Errorf("the import ID %q %s. Expected %s, where <token_id> is the token's UUID, as in: terraform import cmdop_%s.example %s",
			id, why, format, kind.typeSuffix, format)
	}
	tokenID = id
	if kind.fleet {
		var ok bool
		fleetID, tokenID, ok = strings.Cut(id, "/")
		if !ok || !cmdopapi.FleetIDPattern.MatchString(fleetID) {
			return "", "", bad("has no valid fleet ID")
		}
	}
	u, err := uuid.Parse(tokenID)
	if err != nil || len(tokenID) != len(u.String()) {
		return "", "", bad("has no valid token ID")
	}
	tokenID = u.String() // canonical, lower case
	return fleetID, tokenID, nil
}
