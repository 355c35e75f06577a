package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// A create can fail without telling whether the API issued the token: the
// response was lost, the API failed, or it kept refusing retries after an
// attempt that may have gone through. Such a token must never be orphaned,
// so Create records a tainted placeholder whose ID holds the failure's time
// and the create's idempotency key: "pending-<unix seconds>-<key>". (Not in
// private state, which did not survive a failed Create in our tests.)
// Terraform replaces a tainted resource on the next apply, and Delete then
// replays the create with the same key (the API answers a replay with the
// token it issued, or issues it now) and revokes that token. Read never
// calls the API for a placeholder: it must not issue tokens.

const (
	pendingPrefix = "pending-"
	// replayWindow is how long after the failure a replay still finds the
	// original token: the API keeps an Idempotency-Key for 10 minutes.
	replayWindow = 9 * time.Minute
)

type pendingCreate struct {
	Key     string
	Started time.Time // by the API server's clock
}

func (p pendingCreate) id() string {
	return fmt.Sprintf("%s%d-%s", pendingPrefix, p.Started.Unix(), p.Key)
}

// parsePending reads a placeholder ID; ok is false for any other ID.
func parsePending(id string) (p pendingCreate, ok bool) {
	rest, ok := strings.CutPrefix(id, pendingPrefix)
	secs, key, cut := strings.Cut(rest, "-")
	n, err := strconv.ParseInt(secs, 10, 64)
	if !ok || !cut || err != nil || key == "" {
		return pendingCreate{}, false
	}
	return pendingCreate{Key: key, Started: time.Unix(n, 0).UTC()}, true
}

// mayHaveCreated tells whether a failed create may have issued the token.
// Only a definite refusal of the request (invalid, unauthorised,
// forbidden, unknown fleet) says it did not; a rate limit or a conflict may
// follow an earlier attempt that went through.
func mayHaveCreated(err error) bool {
	apiErr, ok := cmdop.AsError(err)
	if !ok {
		return true
	}
	switch apiErr.Code {
	case cmdopapi.CodeRateLimit, cmdopapi.CodeConflict, cmdopapi.CodeServer:
		return true
	}
	return false
}

func isPending(m *tokenResourceModel) bool { _, ok := parsePending(m.ID.ValueString()); return ok }

// recordPending saves the placeholder; Terraform keeps it as tainted,
// because Create also returns an error.
func (r *tokenResource) recordPending(ctx context.Context, resp *resource.CreateResponse, plan *tokenResourceModel, key string, started time.Time) {
	plan.ID = types.StringValue(pendingCreate{Key: key, Started: started}.id())
	plan.Secret = types.StringNull()
	plan.KeyPrefix = types.StringNull()
	plan.CreatedAt = timetypes.NewRFC3339Null()
	plan.ExpiresAt = timetypes.NewRFC3339Null()
	plan.LastUsedAt = timetypes.NewRFC3339Null()
	plan.RevokedAt = timetypes.NewRFC3339Null()
	plan.Status = types.StringNull()
	if plan.FleetID.IsUnknown() {
		plan.FleetID = types.StringNull()
	}
	r.setModel(ctx, &resp.State, plan, &resp.Diagnostics)
	resp.Diagnostics.AddWarning("The token may exist without Terraform knowing its ID",
		fmt.Sprintf("The API may have issued the %s before the failure. Terraform keeps it as tainted, with the placeholder ID %s. "+
			"Run terraform apply again once the API answers, within %s: it finds that token through the create's idempotency key, "+
			"revokes it, and issues a new one.", r.describe(plan), plan.ID.ValueString(), replayWindow))
}

// revokePending revokes whatever token a failed create issued. A replay
// that the API refuses outright (the fleet is gone, or the request is no
// longer valid) proves that the key issued nothing: there is nothing to
// revoke, and the placeholder goes with a warning.
func (r *tokenResource) revokePending(ctx context.Context, tokens *cmdop.TokenCache, m *tokenResourceModel, diags *diag.Diagnostics) {
	p, _ := parsePending(m.ID.ValueString())
	// The give-up window is measured on the server's clock, as the
	// placeholder's time was: ask the API first, so that ServerNow is the
	// server's and not this machine's.
	if _, err := r.data.account(ctx); err != nil {
		diags.Append(r.data.apiError("revoking", r.describe(m), r.collectionOf(m), err))
		return
	}
	if tokens.ServerNow().Sub(p.Started) > replayWindow {
		diags.AddWarning(fmt.Sprintf("Cannot tell whether the failed create of the %s issued a token", r.describe(m)),
			fmt.Sprintf("The create failed at %s, too long ago for the API to replay it. If it issued a token, that token is "+
				"named %q: find it with the cmdop_%ss data source (name_prefix), check its created_at, and revoke it.",
				p.Started.Format(time.RFC3339), m.Name.ValueString(), r.kind.typeSuffix))
		return
	}
	in, ds := createRequest(ctx, m)
	diags.Append(ds...)
	if diags.HasError() {
		return
	}
	tok, err := tokens.CreateToken(ctx, r.collectionOf(m), in, p.Key)
	id := ""
	apiErr, isAPIErr := cmdop.AsError(err)
	switch {
	case err == nil:
		id = tok.ID
	case isAPIErr && apiErr.Code == cmdopapi.CodeConflict:
		// The API restarted: it cannot replay the secret, but names the token.
		id, _ = apiErr.Details["token_id"].(string)
	case errors.Is(err, cmdop.ErrValidation), isAPIErr && apiErr.Reason == cmdopapi.ReasonFleetNotFound:
		diags.AddWarning(fmt.Sprintf("Nothing to revoke for the failed create of the %s", r.describe(m)),
			fmt.Sprintf("The API refused to replay the failed create (%s), so that create issued no token: the placeholder %s "+
				"was removed from the state.", cmdopapi.Redact(err.Error()), m.ID.ValueString()))
		return
	}
	if id == "" {
		d := r.data.apiError("revoking", r.describe(m), r.collectionOf(m), errors.Join(errors.New("finding the token of the failed create"), err))
		diags.AddError(d.Summary(), d.Detail()+fmt.Sprintf("\n\nThe state keeps the placeholder %s. Run terraform apply (or destroy) again "+
			"once the API answers, within %s of %s. If the API will not answer, run terraform state rm <this resource's address>, "+
			"then find a token named %q with the cmdop_%ss data source and revoke it.",
			m.ID.ValueString(), replayWindow, p.Started.Format(time.RFC3339), m.Name.ValueString(), r.kind.typeSuffix))
		return
	}
	if err := revokeIfPresent(ctx, tokens.RevokeToken, r.collectionOf(m), id); err != nil {
		diags.Append(r.data.apiError("revoking", r.describe(m), r.collectionOf(m), err))
	}
}
