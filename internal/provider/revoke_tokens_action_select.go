package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// secretShape is what a CMDOP secret looks like; anything else is not one.
var secretShape = regexp.MustCompile(`^cmdop_[0-9A-Za-z]{32,}$`)

// named is what the selection names one by one: token IDs, key prefixes,
// and the token IDs that the secrets authenticate as.
type named struct {
	ids       map[string]bool // lower case
	prefixes  map[string]bool
	secrets   map[string][]int // token ID (lower case) → indexes in secrets
	matched   map[string]bool  // "id:…", "prefix:…", "secret:N"
	elsewhere map[int]string   // secret index → where its token lives, when outside the scopes
}

// hit tells whether t is named, and records what named it.
func (n *named) hit(t *cmdopapi.Token) bool {
	id := strings.ToLower(t.ID)
	hit := false
	if n.ids[id] {
		n.matched["id:"+id], hit = true, true
	}
	if n.prefixes[t.KeyPrefix] {
		n.matched["prefix:"+t.KeyPrefix], hit = true, true
	}
	for _, i := range n.secrets[id] {
		n.matched[fmt.Sprintf("secret:%d", i)], hit = true, true
	}
	return hit
}

// resolveSecrets asks the API, with each secret, which token it is (the
// who-am-I call, recorded as one use of that token). The secret itself is
// never printed or logged: messages name it by its index. A secret that
// does not authenticate is reported, not failed.
func (a *revokeTokensAction) resolveSecrets(ctx context.Context, client *cmdop.Client, secrets []string, n *named, run *revokeRun,
	diags *diag.Diagnostics,
) {
	for i, secret := range secrets {
		if !secretShape.MatchString(secret) {
			run.notTokens = append(run.notTokens, i)
			continue
		}
		acct, err := client.WithToken(secret).Account(ctx)
		switch {
		case errors.Is(err, cmdop.ErrAuth):
			run.notTokens = append(run.notTokens, i)
		case err != nil:
			diags.AddAttributeError(path.Root("secrets").AtListIndex(i), summarySecretCheckFailed,
				fmt.Sprintf("cmdop_revoke_tokens could not ask the CMDOP API which token secrets[%d] is, so it revoked nothing. "+
					"Run it again once the API answers.\n\n%s", i, cmdopapi.Redact(err.Error())))
		default:
			id := strings.ToLower(acct.TokenID)
			n.secrets[id] = append(n.secrets[id], i)
			where := "the caller's personal tokens"
			if acct.TokenType == cmdopapi.TokenTypeFleet {
				where = "the fleet tokens of fleet " + acct.FleetID
			}
			n.elsewhere[i] = where // cleared once it is found in a scope
		}
	}
}

// selectTokens lists every scope afresh and keeps the tokens the
// configuration selects. Anything named (a token ID, a key prefix, a
// secret that authenticates) that matches no token fails the action before
// anything is revoked; filters that match nothing get a warning.
func (a *revokeTokensAction) selectTokens(ctx context.Context, client *cmdop.Client, m *revokeTokensModel, acct *cmdopapi.Account,
	run *revokeRun, diags *diag.Diagnostics,
) ([]selected, []revokeScope) {
	scopes := a.scopes(m, acct, diags)
	filter := tokenFilter{
		NamePrefix:    m.NamePrefix.ValueString(),
		CreatedBefore: timeOrZero(m.CreatedBefore, diags),
		UsedSince:     timeOrZero(m.UsedSince, diags),
	}
	n := &named{ids: map[string]bool{}, prefixes: map[string]bool{}, secrets: map[string][]int{}, matched: map[string]bool{},
		elsewhere: map[int]string{}}
	var ids, prefixes, secrets []string
	diags.Append(m.TokenIDs.ElementsAs(ctx, &ids, true)...)
	diags.Append(m.KeyPrefixes.ElementsAs(ctx, &prefixes, true)...)
	diags.Append(m.Secrets.ElementsAs(ctx, &secrets, true)...)
	for _, id := range ids {
		n.ids[strings.ToLower(id)] = true
	}
	for _, p := range prefixes {
		n.prefixes[p] = true
	}
	if diags.HasError() {
		return nil, nil
	}
	a.resolveSecrets(ctx, client, secrets, n, run, diags)
	if diags.HasError() {
		return nil, nil
	}
	byName := len(ids)+len(prefixes)+len(secrets) > 0
	var sel []selected
	searched := 0
	for _, sc := range scopes {
		all, err := client.ListAllTokens(ctx, sc.fleet)
		if err != nil {
			diags.Append(a.data.apiError("listing", sc.kind.label+"s for cmdop_revoke_tokens", sc.fleet, err))
			diags.AddError("cmdop_revoke_tokens revoked nothing",
				"It lists every place it looks before it revokes anything, and one listing failed (above). Fix that, then run it again.")
			return nil, nil
		}
		searched += len(all)
		for _, t := range all {
			if !filter.matches(&t) {
				continue
			}
			if byName && !n.hit(&t) {
				continue
			}
			sel = append(sel, selected{scope: sc, token: t})
		}
	}
	var missing []string
	for _, id := range ids {
		if !n.matched["id:"+strings.ToLower(id)] {
			missing = append(missing, fmt.Sprintf("- token_ids: %s", id))
		}
	}
	for _, p := range prefixes {
		if !n.matched["prefix:"+p] {
			missing = append(missing, fmt.Sprintf("- key_prefixes: %s", p))
		}
	}
	for i := range secrets {
		where, ok := n.elsewhere[i]
		if ok && !n.matched[fmt.Sprintf("secret:%d", i)] {
			missing = append(missing, fmt.Sprintf("- secrets[%d]: it authenticates as a token among %s", i, where))
		}
	}
	filters := describeFilters(m)
	if len(missing) > 0 {
		extra := ""
		if filters != "" {
			extra = " that also matches " + filters
		}
		diags.AddError(summaryNoMatch,
			fmt.Sprintf("cmdop_revoke_tokens revoked nothing: no token%s among %s (%d token(s) searched) matched:\n%s\n\n"+
				"Check each value for a typo, and that kind and fleet_id say where the tokens live. Then correct the selection, or "+
				"remove what matched nothing, and run the action again.", extra, describeScopes(scopes), searched, strings.Join(missing, "\n")))
		return nil, nil
	}
	if len(sel) == 0 && !byName {
		what := "all = true"
		if filters != "" {
			what = "The filters " + filters
		}
		diags.AddWarning(summaryFilterNoMatch,
			fmt.Sprintf("%s matched none of the %d token(s) searched among %s, so nothing was revoked. If you expected a match, "+
				"check the filter values, and that kind and fleet_id say where the tokens live.", what, searched, describeScopes(scopes)))
	}
	return sel, scopes
}

// describeFilters names the filters set, for messages; "" when none is.
func describeFilters(m *revokeTokensModel) string {
	var parts []string
	if !m.NamePrefix.IsNull() {
		parts = append(parts, fmt.Sprintf("name_prefix = %q", m.NamePrefix.ValueString()))
	}
	if !m.CreatedBefore.IsNull() {
		parts = append(parts, fmt.Sprintf("created_before = %q", m.CreatedBefore.ValueString()))
	}
	if !m.UsedSince.IsNull() {
		parts = append(parts, fmt.Sprintf("used_since = %q", m.UsedSince.ValueString()))
	}
	return strings.Join(parts, ", ")
}
