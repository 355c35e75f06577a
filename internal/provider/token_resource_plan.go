package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/fwcompat"
	"github.com/cmdop/terraform-provider-cmdop/internal/validators"
)

// ValidateConfig checks what needs no API and no clock: rotate_before and
// revoke_grace_period against a relative expiry, and that every timeout is
// positive.
func (r *tokenResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	cfg := r.getModel(ctx, req.Config, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	r.validateDeliveryConfig(ctx, cfg, &resp.Diagnostics) // token_resource_delivery.go
	if !cfg.Timeouts.IsNull() {
		checkPositiveTimeouts(ctx, req.Config, &resp.Diagnostics, "create", "read", "delete")
	}
	if cfg.Expiry.IsUnknown() {
		return
	}
	expiry := cfg.Expiry.ValueString()
	if cfg.Expiry.IsNull() {
		expiry = defaultExpiry
	}
	e, err := validators.ParseExpiry(expiry)
	if err != nil {
		return // reported by the attribute's validator
	}
	lifetime := time.Duration(e.Days) * 24 * time.Hour
	if grace, err := validators.ParseDuration(cfg.RevokeGracePeriod.ValueString()); err == nil && e.Days > 0 && grace >= lifetime {
		resp.Diagnostics.AddAttributeError(path.Root("revoke_grace_period"), "revoke_grace_period is not shorter than the token's lifetime",
			fmt.Sprintf("revoke_grace_period (%s) must be shorter than the token's lifetime (expiry %q, %d days), or a replaced token "+
				"would outlive its own expiry. Use a shorter grace period, such as \"1h\".", cfg.RevokeGracePeriod.ValueString(), expiry, e.Days))
	}
	if cfg.RotateBefore.IsNull() || cfg.RotateBefore.IsUnknown() {
		return
	}
	window, err := validators.ParseDuration(cfg.RotateBefore.ValueString())
	if err != nil {
		return // reported by the attribute's validator
	}
	switch {
	case e.Never:
		resp.Diagnostics.AddAttributeError(path.Root("rotate_before"), "rotate_before needs an expiring token",
			`rotate_before rotates a token before it expires, but expiry is "never". Remove rotate_before, or set expiry to "30d", "90d" or "1y".`)
	case e.Days == 0:
		resp.Diagnostics.AddAttributeError(path.Root("rotate_before"), "rotate_before needs a relative expiry",
			fmt.Sprintf(`rotate_before replaces the token before it expires, but expiry is the fixed date %s, which the replacement would get too. `+
				`Use expiry "30d", "90d" or "1y" with rotate_before, or remove rotate_before and rotate by hand or with rotation_triggers.`, expiry))
	case window >= lifetime:
		resp.Diagnostics.AddAttributeError(path.Root("rotate_before"), "rotate_before is not shorter than the token's lifetime",
			fmt.Sprintf("rotate_before (%s) must be shorter than the token's lifetime (expiry %q, %d days), or every plan would replace the token. Use a shorter window, such as \"7d\".",
				cfg.RotateBefore.ValueString(), expiry, e.Days))
	}
}

// checkPositiveTimeouts refuses a value below 1 s in the timeouts block: an
// operation that may not wait fails before it can finish, and a failed
// create would leave a placeholder behind.
func checkPositiveTimeouts(ctx context.Context, cfg tfsdk.Config, diags *diag.Diagnostics, ops ...string) {
	for _, op := range ops {
		p := path.Root("timeouts").AtName(op)
		var v types.String
		if cfg.GetAttribute(ctx, p, &v).HasError() || v.IsNull() || v.IsUnknown() {
			continue
		}
		if d, err := time.ParseDuration(v.ValueString()); err == nil && d < minTimeout {
			diags.AddAttributeError(p, "Invalid timeout",
				fmt.Sprintf("timeouts.%s is %q, but an operation needs time to run, and a create that gives up at once leaves a placeholder: "+
					"use a positive duration of at least 1s, such as \"5m\", or remove it for the default.", op, v.ValueString()))
		}
	}
}

// ModifyPlan fills in the default fleet, checks what depends on the API
// server's clock, and plans the replacements that no configuration change
// shows: a token revoked or expired outside Terraform, or one inside its
// rotate_before window. Each replacement comes with a warning saying why.
func (r *tokenResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil { // destroy, or an unconfigured provider
		return
	}
	plan := r.getModel(ctx, req.Plan, &resp.Diagnostics)
	var state *tokenResourceModel
	if !req.State.Raw.IsNull() {
		state = r.getModel(ctx, req.State, &resp.Diagnostics)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	planned := *plan
	if r.planDelivery(ctx, plan, state, &resp.Diagnostics); resp.Diagnostics.HasError() { // token_resource_delivery.go
		return
	}

	if r.kind.fleet {
		r.planFleetID(ctx, req, plan, state, resp)
	} else if r.data.client != nil && !r.data.configUnknown && (state == nil || !state.OwnerID.IsNull()) {
		// With -refresh=false, or before a first create: the same owner
		// check as Read, before anything is planned.
		m := plan
		if state != nil {
			m = state
		}
		r.checkOwner(ctx, m, "planning", &resp.Diagnostics)
	}
	if !r.kind.fleet {
		checkOwnerUnchanged(plan, state, &resp.Diagnostics)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	now := time.Now().UTC()
	// Only an existing token or a custom expiry date needs the clock.
	custom := false
	if e, err := validators.ParseExpiry(plan.Expiry.ValueString()); err == nil && !e.Never && e.Days == 0 {
		custom = true
	}
	if (state != nil || custom) && r.data.client != nil && !r.data.configUnknown {
		now = r.data.serverNow(ctx)
	}
	if state == nil {
		r.checkNewExpiry(ctx, plan, now, resp)
	} else {
		r.planReplacements(plan, state, now, resp)
		keepComputedInPlace(plan, state, resp)
	}
	r.enforcePolicy(ctx, plan, state, now, resp)
	if !fwcompat.SameValues(plan, &planned) { // else resp.Plan, a copy of req.Plan, is right already
		r.setModel(ctx, &resp.Plan, plan, &resp.Diagnostics)
	}
}

func (r *tokenResource) planFleetID(ctx context.Context, req resource.ModifyPlanRequest, plan, state *tokenResourceModel, resp *resource.ModifyPlanResponse) {
	var configured types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("fleet_id"), &configured)...)
	if configured.IsUnknown() || (configured.IsNull() && r.data.configUnknown) {
		plan.FleetID = types.StringUnknown()
		return
	}
	if state != nil && !r.checkFleetKnown(state, &resp.Diagnostics) {
		return
	}
	var fleet string
	if configured.IsNull() && state != nil && !isPending(state) {
		// The provider's default fleet applies when a token is created:
		// an existing token keeps its own, so switching CMDOP_FLEET_ID
		// moves nothing.
		fleet = state.FleetID.ValueString()
	} else if fleet = r.data.resolveFleet(configured, "the resource", &resp.Diagnostics); fleet == "" {
		return
	}
	plan.FleetID = types.StringValue(fleet)
	moved := state != nil && !state.FleetID.IsNull() && !state.FleetID.Equal(plan.FleetID)
	if (state == nil || moved) && r.data.client != nil && !r.data.configUnknown {
		// A token is about to be issued into this fleet: make sure it is
		// there before anything is planned, so that a typo never revokes a
		// working token and then fails.
		// A new token can wait for apply to learn of an API that did not
		// answer; a replacement, which revokes, cannot.
		if err := r.data.checkFleet(ctx, fleet); err != nil && (moved || cmdop.IsRefusal(err) || errors.Is(err, cmdop.ErrNotCMDOPAPI)) {
			d := r.data.apiError("planning", r.describe(plan), fleet, err)
			if errors.Is(err, cmdop.ErrAuth) || errors.Is(err, cmdop.ErrNotCMDOPAPI) {
				resp.Diagnostics.Append(d) // about the provider's token or URL, not the fleet
				return
			}
			resp.Diagnostics.AddAttributeError(path.Root("fleet_id"), fmt.Sprintf("Fleet %q is not reachable", cmdopapi.Redact(fleet)), d.Detail())
			return
		}
	}
	if moved {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("fleet_id"))
		resp.Diagnostics.AddAttributeWarning(path.Root("fleet_id"), fmt.Sprintf("The %s moves to another fleet and will be replaced", r.describe(state)),
			fmt.Sprintf("fleet_id changes from %q to %q. A token cannot change fleets, so Terraform will issue a new token in fleet %q and "+
				"revoke %s in fleet %q: every consumer of the old secret loses access to fleet %q. If this is not intended, set fleet_id = %q "+
				"on the resource.", cmdopapi.Redact(state.FleetID.ValueString()), cmdopapi.Redact(fleet), cmdopapi.Redact(fleet), r.describe(state),
				cmdopapi.Redact(state.FleetID.ValueString()), cmdopapi.Redact(state.FleetID.ValueString()), cmdopapi.Redact(state.FleetID.ValueString())))
	}
}

// checkNewExpiry checks a custom expiry date against the server's clock
// when the token is about to be issued. Later plans don't re-check it: time
// moves on, but an issued token's expiry is settled.
func (r *tokenResource) checkNewExpiry(ctx context.Context, plan *tokenResourceModel, now time.Time, resp *resource.ModifyPlanResponse) {
	if plan.Expiry.IsUnknown() {
		return
	}
	e, err := validators.ParseExpiry(plan.Expiry.ValueString())
	if err != nil {
		return
	}
	r.checkWithinProviderToken(ctx, plan, e, resp)
	if e.Never || e.Days > 0 {
		return
	}
	if lead := e.At.Sub(now); lead < validators.MinCustomExpiryLead {
		resp.Diagnostics.AddAttributeError(path.Root("expiry"), "Token expiry is too soon",
			fmt.Sprintf("expiry %s is %s (%s by the API server's clock); a custom expiry must be at least one hour ahead. Use a later date, or a preset such as \"30d\".",
				plan.Expiry.ValueString(), describeLead(lead), now.Format(time.RFC3339)))
	}
}

// checkWithinProviderToken: the API refuses a token that would outlive the
// token issuing it, so a provider token that expires bounds every new
// token's expiry. Its expiry comes from the who-am-I call, made once per
// provider process; if that fails, apply reports the API's refusal.
func (r *tokenResource) checkWithinProviderToken(ctx context.Context, plan *tokenResourceModel, e validators.Expiry, resp *resource.ModifyPlanResponse) {
	if r.data.client == nil || r.data.configUnknown {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, planCheckTimeout)
	defer cancel()
	acct, err := r.data.account(ctx)
	if err != nil || acct.ExpiresAt == nil {
		return
	}
	// The who-am-I call has set the client's view of the API server's
	// clock: measure "30d from now" by it, as the message says.
	now := r.data.client.ServerNow()
	limit := acct.ExpiresAt.UTC()
	asked := "never expires"
	switch {
	case e.Days > 0:
		at := now.AddDate(0, 0, e.Days)
		if !at.After(limit) {
			return
		}
		asked = fmt.Sprintf("expires at about %s (%d days from now by the API server's clock)", at.Format(time.RFC3339), e.Days)
	case !e.Never:
		if !e.At.After(limit) {
			return
		}
		asked = "expires at " + e.At.UTC().Format(time.RFC3339)
	}
	resp.Diagnostics.AddAttributeError(path.Root("expiry"), "Token would outlive the provider's token",
		fmt.Sprintf("Your token expires at %s, so this token's expiry must be at or before %s: the API refuses to issue a token that outlives the token issuing it. "+
			"With expiry %q the %s %s. Set expiry to %q or earlier, or configure the provider with a token that lives longer.",
			limit.Format(time.RFC3339), limit.Format(time.RFC3339), plan.Expiry.ValueString(), r.describe(plan), asked, limit.Format(time.RFC3339)))
}

func (r *tokenResource) planReplacements(plan, state *tokenResourceModel, now time.Time, resp *resource.ModifyPlanResponse) {
	if isPending(state) {
		return // tainted: replaced anyway (token_resource_pending.go)
	}
	what := r.describe(state)
	expiresAt, _ := state.ExpiresAt.ValueRFC3339Time()
	status := state.Status.ValueString()
	if status == cmdopapi.StatusActive && !state.ExpiresAt.IsNull() && !now.Before(expiresAt) {
		status = cmdopapi.StatusExpired // the state predates the expiry
	}

	switch {
	case status == cmdopapi.StatusRevoked || status == cmdopapi.StatusExpired:
		when := "at " + state.ExpiresAt.ValueString()
		if status == cmdopapi.StatusRevoked {
			when = "outside Terraform at " + state.RevokedAt.ValueString()
		}
		plan.Status = types.StringValue(cmdopapi.StatusActive)
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("status"))
		resp.Diagnostics.AddWarning(
			fmt.Sprintf("The %s is %s and will be replaced", what, status),
			fmt.Sprintf("The %s was %s %s (API server time %s), so every call made with it now fails with 401. "+
				"Terraform will issue a replacement token; roll its secret out to the consumers.", what, status, when, now.Format(time.RFC3339)))
		return
	case !plan.RotateBefore.IsNull() && !plan.RotateBefore.IsUnknown() && !state.ExpiresAt.IsNull():
		window, err := validators.ParseDuration(plan.RotateBefore.ValueString())
		if err != nil || now.Before(expiresAt.Add(-window)) {
			break
		}
		plan.ExpiresAt = timetypes.NewRFC3339Unknown()
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("expires_at"))
		resp.Diagnostics.AddWarning(
			fmt.Sprintf("The %s is inside its rotate_before window and will be replaced", what),
			fmt.Sprintf("The %s expires at %s, and rotate_before is %s, so it has been due for rotation since %s (API server time now %s). "+
				"Terraform will issue a replacement token.", what, state.ExpiresAt.ValueString(), plan.RotateBefore.ValueString(),
				expiresAt.Add(-window).Format(time.RFC3339), now.Format(time.RFC3339)))
		return
	}
	// Once per plan: Terraform's cost grows with the square of the number
	// of warnings, and a configuration that adopted 300 tokens would spend
	// 15 s of every plan on this one alone (4 s without it).
	if state.Secret.IsNull() && state.SecretSHA256.IsNull() && plan.SecretDelivery.IsNull() && r.data.firstNullSecret() {
		resp.Diagnostics.AddWarning(
			fmt.Sprintf("The secret of the %s cannot be recovered", what),
			"The CMDOP API shows a token's secret only once, when it is issued, so an imported token has a null secret. "+
				"To have Terraform manage a secret, issue a new token with: terraform apply -replace=<this resource's address>. "+
				"This warning is shown once per plan: other imported tokens of this configuration may have no secret either.")
	}
}

// keepComputedInPlace: an in-place update changes only the settings that
// live in the configuration alone (Update makes no API call), so the values
// the API holds stay as they are. The framework would plan status,
// last_used_at and revoked_at as "known after apply" for every update, such
// as the first plan after an import that sets rotate_before: plan them as
// the state has them. A replacement plans a new token, and keeps them
// unknown.
func keepComputedInPlace(plan, state *tokenResourceModel, resp *resource.ModifyPlanResponse) {
	if len(resp.RequiresReplace) > 0 {
		return
	}
	if plan.Status.IsUnknown() {
		plan.Status = state.Status
	}
	if plan.LastUsedAt.IsUnknown() {
		plan.LastUsedAt = state.LastUsedAt
	}
	if plan.RevokedAt.IsUnknown() {
		plan.RevokedAt = state.RevokedAt
	}
}

// describeLead says how far ahead, or back, an instant is: "in 30m0s",
// "12 days ago".
func describeLead(d time.Duration) string {
	ago := d < 0
	if ago {
		d = -d
	}
	s := roundDuration(d).String()
	if d >= 48*time.Hour {
		s = fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	if ago {
		return "in the past, " + s + " ago"
	}
	return "only " + s + " from now"
}

func roundDuration(d time.Duration) time.Duration {
	return d.Round(time.Second)
}

// checkOwnerUnchanged refuses a configured owner_id that differs from the
// owner the state records: a token never changes owner, and replacing it
// would issue the new one to whoever runs the plan.
func checkOwnerUnchanged(plan, state *tokenResourceModel, diags *diag.Diagnostics) {
	if state == nil || !isKnown(plan.OwnerID) || plan.OwnerID.IsNull() || state.OwnerID.IsUnknown() {
		return
	}
	if state.OwnerID.IsNull() {
		// The state does not know the owner: a configured owner_id must
		// not settle that by assertion.
		diags.AddAttributeError(path.Root("owner_id"), "Personal token owner cannot change",
			fmt.Sprintf("The state of personal token %s does not record its owner, so owner_id = %q cannot be checked. Remove "+
				"owner_id, refresh once with a personal token of the token's owner (terraform apply -refresh-only), which records "+
				"it, then set owner_id again.", state.ID.ValueString(), plan.OwnerID.ValueString()))
		return
	}
	if plan.OwnerID.ValueString() != state.OwnerID.ValueString() {
		diags.AddAttributeError(path.Root("owner_id"), "Personal token owner cannot change",
			fmt.Sprintf("The personal token %s belongs to user %s, but owner_id says %s. A token never changes owner: set owner_id "+
				"to %s, or remove it. To issue a token for another user, run Terraform with that user's personal token in a "+
				"configuration of its own.", plan.ID.ValueString(), state.OwnerID.ValueString(), plan.OwnerID.ValueString(),
				state.OwnerID.ValueString()))
	}
}
