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
	requestID, err := r.tokens.RevokeTokenRequestID(r.ctx, s.scope.fleet, s.token.ID)
	if apiErr, ok := cmdop.AsError(err); ok && requestID == "" {
		requestID = apiErr.RequestID
	}
	o := outcome{sel: s, requestID: requestID, err: err}
	switch {
	case errors.Is(err, cmdop.ErrTokenNotFound): // gone since the listing
		o.err = nil
		r.already = append(r.already, o)
		r.progress("Already revoked: %s", o.line())
	case err != nil:
		r.failed = append(r.failed, o)
		r.progress("Failed to revoke %s", o.line())
	default:
		r.revoked = append(r.revoked, o)
		r.progress("Revoked %s", o.line())
	}
}

// revocationRequestID finds the request ID under which the audit log
// recorded an earlier revocation; "" when it cannot tell.
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
	r.progress("cmdop_revoke_tokens summary: %s %d, already revoked %d, failed %d.%s%s%s",
		strings.ToLower(verb), len(r.revoked), len(r.already), len(r.failed),
		summaryLines(verb, r.revoked), summaryLines("Already revoked", r.already), summaryLines("Failed", r.failed))
	if len(r.failed) == 0 {
		return
	}
	lines := make([]string, len(r.failed))
	for i, o := range r.failed {
		lines[i] = "- " + o.line()
	}
	r.resp.Diagnostics.AddError("Error revoking tokens with cmdop_revoke_tokens",
		fmt.Sprintf("%d of the selected token(s) could not be revoked (%d were, %d already had been). Check the IDs and the "+
			"provider token's permissions, then run the action again: tokens already revoked are reported, not revoked twice.\n\n%s",
			len(r.failed), len(r.revoked), len(r.already), strings.Join(lines, "\n")))
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
