package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/action"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// revokeRun revokes the selected tokens one by one, reporting each, and
// keeps what happened for the summary.
type revokeRun struct {
	ctx                      context.Context // the invocation's, for its length only
	client                   *cmdop.Client
	tokens                   *cmdop.TokenCache
	dryRun                   bool
	resp                     *action.InvokeResponse
	revoked, already, failed []outcome
	notTokens                []int // indexes of secrets that do not authenticate
}

func (r *revokeRun) progress(format string, args ...any) {
	if r.resp.SendProgress != nil {
		r.resp.SendProgress(action.InvokeProgressEvent{Message: fmt.Sprintf(format, args...)})
	}
}

func (r *revokeRun) revoke(s selected) {
	if s.token.Status == cmdopapi.StatusRevoked || s.token.RevokedAt != nil {
		o := outcome{sel: s, requestID: r.revocationRequestID(s)}
		r.already = append(r.already, o)
		r.progress("Already revoked: %s", o.line())
		return
	}
	if r.dryRun {
		r.revoked = append(r.revoked, outcome{sel: s})
		r.progress("Would revoke %s", s.describe())
		return
	}
	// Through the provider's token cache, so that any resource of the same
	// run that reads the token afterwards sees it revoked.
	res, err := r.tokens.RevokeTokenAttempts(r.ctx, s.scope.fleet, s.token.ID)
	requestID := res.RequestID
	if apiErr, ok := cmdop.AsError(err); ok && requestID == "" {
		requestID = apiErr.RequestID
	}
	o := outcome{sel: s, requestID: requestID, err: err}
	switch {
	case errors.Is(err, cmdop.ErrTokenNotFound): // gone since the listing
		o.err = nil
		r.already = append(r.already, o)
		r.progress("Already revoked: %s", o.line())
	case err != nil && cmdop.IsRefusal(err): // the API's definite no
		r.failed = append(r.failed, o)
		r.progress("Failed to revoke %s", o.line())
	case err != nil: // no answer, or one that says nothing about the token
		r.readBack(o)
	default:
		if res.Attempts > 1 {
			// An earlier attempt may have revoked it, its answer lost: the
			// audit log knows which request did.
			o.requestID = r.revocationRequestID(s)
			o.unsure = o.requestID == ""
		}
		r.revoked = append(r.revoked, o)
		r.progress("Revoked %s", o.line())
	}
}

// readBack settles a revocation whose outcome is unknown by reading the
// token: revoked (by this call, its request ID from the audit log), still
// active (failed), or unknown (may not be revoked).
func (r *revokeRun) readBack(o outcome) {
	s := o.sel
	t, err := r.client.GetToken(r.ctx, s.scope.fleet, s.token.ID)
	switch {
	case err == nil && (t.Status == cmdopapi.StatusRevoked || t.RevokedAt != nil):
		o.err = nil
		o.requestID = r.revocationRequestID(s)
		o.unsure = o.requestID == ""
		r.revoked = append(r.revoked, o)
		r.progress("Revoked %s (the API's answer was lost: read back as revoked)", o.line())
	case errors.Is(err, cmdop.ErrTokenNotFound):
		o.err = nil
		o.requestID = ""
		r.already = append(r.already, o)
		r.progress("Already revoked: %s", o.line())
	case err == nil:
		o.err = fmt.Errorf("still active after the revocation failed: %w", o.err)
		r.failed = append(r.failed, o)
		r.progress("Failed to revoke %s", o.line())
	default:
		o.err = fmt.Errorf("may not be revoked: check it with the cmdop_%ss data source or in the CMDOP console, and run the "+
			"action again (a revoked token is reported, not revoked twice). The revocation failed (%s), and reading the token "+
			"back failed too (%s)", s.scope.kind.typeSuffix, cmdopapi.Redact(o.err.Error()), cmdopapi.Redact(err.Error()))
		o.requestID = ""
		r.failed = append(r.failed, o)
		r.progress("May not have revoked %s", o.line())
	}
}

// revocationRequestID finds the request ID under which the audit log
// recorded the token's revocation; "" when it cannot tell.
func (r *revokeRun) revocationRequestID(s selected) string {
	events, _, err := r.client.AuditEvents(r.ctx, cmdop.AuditQuery{
		FleetID: s.scope.fleet, TokenID: s.token.ID, Actions: []string{cmdopapi.ActionTokenRevoked},
	}, 1)
	if err != nil || len(events) == 0 {
		return ""
	}
	return events[0].RequestID
}

// summarize sends the summary, and fails the invocation if any token could
// not be revoked.
func (r *revokeRun) summarize() {
	verb := "Revoked"
	if r.dryRun {
		verb = "Would revoke"
	}
	notTokens := ""
	if len(r.notTokens) > 0 {
		idx := make([]string, len(r.notTokens))
		for i, n := range r.notTokens {
			idx[i] = fmt.Sprintf("secrets[%d]", n)
		}
		notTokens = fmt.Sprintf("\nAlready revoked or not a CMDOP token (it does not authenticate): %s", strings.Join(idx, ", "))
	}
	r.progress("cmdop_revoke_tokens summary: %s %d, already revoked %d, failed %d.%s%s%s%s",
		strings.ToLower(verb), len(r.revoked), len(r.already), len(r.failed),
		summaryLines(verb, r.revoked), summaryLines("Already revoked", r.already), summaryLines("Failed", r.failed), notTokens)
	if len(r.failed) == 0 {
		return
	}
	lines := make([]string, len(r.failed))
	for i, o := range r.failed {
		lines[i] = "- " + o.line()
	}
	r.resp.Diagnostics.AddError("Error revoking tokens with cmdop_revoke_tokens",
		fmt.Sprintf("%d of the selected token(s) could not be revoked, or may not have been (%d were, %d already had been). Check "+
			"the provider token's permissions and the API, then run the action again: tokens already revoked are reported, not "+
			"revoked twice.\n\n%s", len(r.failed), len(r.revoked), len(r.already), strings.Join(lines, "\n")))
}

func summaryLines(what string, outcomes []outcome) string {
	if len(outcomes) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s:", what)
	for _, o := range outcomes {
		b.WriteString("\n- " + o.line())
	}
	return b.String()
}
