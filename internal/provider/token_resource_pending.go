package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
	if ce, ok := cmdop.AsContractError(err); ok {
		// A malformed 201 may carry a token; any other answer that is not
		// the CMDOP API's (a proxy's 200) created nothing.
		return ce.StatusCode == http.StatusCreated
	}
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

// isFleetGone: the API says that the addressed fleet does not exist.
func isFleetGone(err error) bool {
	apiErr, ok := cmdop.AsError(err)
	return ok && apiErr.Code == cmdopapi.CodeNotFound && apiErr.Reason == cmdopapi.ReasonFleetNotFound
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

// findPending looks for the token that a failed create may have issued,
// by the create's idempotency key: the designed lookup, which creates
// nothing. It returns the token, or nil when the API remembers no create
// with that key, and settled=false (with nil) when the key is too old for
// the API to remember, so that only a listing can tell.
func (r *tokenResource) findPending(ctx context.Context, tokens *cmdop.TokenCache, m *tokenResourceModel) (tok *cmdopapi.Token, settled bool, err error) {
	p, _ := parsePending(m.ID.ValueString())
	tok, err = tokens.FindTokenByIdempotencyKey(ctx, r.collectionOf(m), p.Key)
	switch {
	case err == nil:
		return tok, true, nil
	case errors.Is(err, cmdop.ErrTokenNotFound):
		return nil, tokens.ServerNow().Sub(p.Started) <= replayWindow, nil
	case isFleetGone(err):
		return nil, true, nil // a fleet's tokens go with it
	default:
		return nil, false, err
	}
}

// readPending adopts the token of a failed create, found by its
// idempotency key: the state then holds that token (tainted still, so the
// next apply replaces it and revokes it), and no second token is ever
// issued beside it. A placeholder whose token is not found stays as it is.
func (r *tokenResource) readPending(ctx context.Context, tokens *cmdop.TokenCache, m *tokenResourceModel, resp *resource.ReadResponse) {
	// A refresh never fails on a placeholder: whatever the lookup meets,
	// the placeholder stays, and its replacement or destroy decides.
	if _, err := r.data.account(ctx); err != nil { // the server's clock, and a validated API
		return
	}
	tok, _, err := r.findPending(ctx, tokens, m)
	if err != nil || tok == nil {
		return
	}
	placeholder := m.ID.ValueString()
	m.applyToken(tok)
	m.Secret = types.StringNull() // the API shows a secret only once
	// Nobody holds its secret: its replacement revokes it at once, with no
	// grace period for consumers that never got it.
	m.RevokeGracePeriod = types.StringValue("0s")
	r.setModel(ctx, &resp.State, m, &resp.Diagnostics)
	r.setIdentity(ctx, resp.Identity, m, &resp.Diagnostics)
	resp.Diagnostics.AddWarning(fmt.Sprintf("Found the token of the failed create of the %s", r.describe(m)),
		fmt.Sprintf("The create that left the placeholder %s did issue %s; the state now holds it. Its secret was lost with the create's "+
			"answer, so it stays tainted: the next apply revokes it and issues its replacement, and no second token is left active.",
			placeholder, r.describe(m)))
}

// revokePending revokes whatever token a failed create issued, found by
// the create's idempotency key. When the API no longer remembers the key,
// a listing of the collection decides: a token of the same name issued
// around the failure may be it, and the placeholder then stays, with an
// error naming the candidates, so that no second token is issued while one
// may exist.
func (r *tokenResource) revokePending(ctx context.Context, tokens *cmdop.TokenCache, m *tokenResourceModel, diags *diag.Diagnostics) {
	p, _ := parsePending(m.ID.ValueString())
	tok, settled, err := r.findPending(ctx, tokens, m)
	if err != nil {
		d := r.data.apiError("revoking", r.describe(m), r.collectionOf(m), errors.Join(errors.New("finding the token of the failed create"), err))
		diags.AddError(d.Summary(), d.Detail()+fmt.Sprintf("\n\nThe state keeps the placeholder %s. Run terraform apply (or destroy) again "+
			"once the API answers.", m.ID.ValueString()))
		return
	}
	if tok != nil {
		if err := revokeIfPresent(ctx, tokens.RevokeToken, r.collectionOf(m), tok.ID); err != nil {
			diags.Append(r.data.apiError("revoking", r.describe(m), r.collectionOf(m), err))
		}
		return
	}
	if settled {
		diags.AddWarning(fmt.Sprintf("Nothing to revoke for the failed create of the %s", r.describe(m)),
			fmt.Sprintf("The API remembers no token issued by the failed create (idempotency key of the placeholder %s), so that create "+
				"issued none: the placeholder was removed from the state.", m.ID.ValueString()))
		return
	}
	// Too old for the API's memory of keys: look for what it may have made.
	var createTimeout time.Duration
	if d, ds := m.Timeouts.Create(ctx, defaultCreateTimeout); !ds.HasError() {
		createTimeout = d
	}
	from, to := p.Started.Add(-createTimeout-time.Minute), p.Started.Add(time.Minute)
	all, err := tokens.ListAll(ctx, r.collectionOf(m))
	if err != nil {
		diags.Append(r.data.apiError("revoking", r.describe(m), r.collectionOf(m), err))
		return
	}
	var candidates []string
	for _, t := range all {
		if t.Name == m.Name.ValueString() && t.Status == cmdopapi.StatusActive && !t.CreatedAt.Before(from) && !t.CreatedAt.After(to) {
			candidates = append(candidates, fmt.Sprintf("%s (created_at %s)", t.ID, t.CreatedAt.UTC().Format(time.RFC3339)))
		}
	}
	if len(candidates) == 0 {
		diags.AddWarning(fmt.Sprintf("Nothing to revoke for the failed create of the %s", r.describe(m)),
			fmt.Sprintf("The create failed at %s, too long ago for the API to remember its key, and the API has no active token named %q "+
				"issued between %s and %s: the placeholder %s was removed from the state.", p.Started.Format(time.RFC3339), m.Name.ValueString(),
				from.Format(time.RFC3339), to.Format(time.RFC3339), m.ID.ValueString()))
		return
	}
	slices.Sort(candidates)
	diags.AddError(fmt.Sprintf("The failed create of the %s may have issued a token", r.describe(m)),
		fmt.Sprintf("The create failed at %s, too long ago for the API to remember its idempotency key, and the API has active tokens "+
			"named %q issued around then: %s. One of them may be the token that create issued, so Terraform issues no second token and "+
			"keeps the placeholder %s. Check them (the cmdop_%ss data source, or the audit log), then either revoke the one that is "+
			"not in use elsewhere and run terraform state rm <this resource's address>, or adopt it: terraform state rm <this resource's "+
			"address>, then terraform import.", p.Started.Format(time.RFC3339), m.Name.ValueString(), strings.Join(candidates, ", "),
			m.ID.ValueString(), r.kind.typeSuffix))
}
