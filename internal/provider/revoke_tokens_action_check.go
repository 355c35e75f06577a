package provider

// The selection rules of cmdop_revoke_tokens, checked three times: in
// ValidateConfig (the validate walk, where every variable is unknown), in
// ModifyPlan (PlanAction, with the values the plan knows) and in Invoke
// (with the final values). A value that is unknown in an early check is
// checked again in a later one: unknown never means valid.

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
)

// Summaries of the selection diagnostics (troubleshooting.md.tmpl lists them).
const (
	summaryMissingConfig      = "Missing config block in cmdop_revoke_tokens"
	summaryEmptySelection     = "Empty token selection in cmdop_revoke_tokens"
	summaryConflictSelection  = "Conflicting token selection in cmdop_revoke_tokens"
	summaryNoMatch            = "No token matched the cmdop_revoke_tokens selection"
	summaryFilterNoMatch      = "cmdop_revoke_tokens matched no token"
	summaryTooMany            = "Too many tokens selected by cmdop_revoke_tokens"
	summaryUnknownAtInvoke    = "Unknown value in cmdop_revoke_tokens"
	summarySecretCheckFailed  = "Error checking a secret for cmdop_revoke_tokens"
	summaryIdentifySelfFailed = "Error identifying the provider's own token for cmdop_revoke_tokens"
)

// missingConfig reports, from Invoke, an action whose configuration is
// null. The diagnostic has no attribute path.
func missingConfig(diags *diag.Diagnostics) {
	diags.AddError(summaryMissingConfig,
		"The action block has no config block, so it selects no tokens. Add one that says what to revoke, such as\n\n"+
			"  config {\n    key_prefixes = [\"cmdop_AbC123\"]\n  }\n\n"+
			"with token_ids, key_prefixes, secrets or a filter (name_prefix, created_before, used_since), or all = true to "+
			"revoke every token where kind and fleet_id say.")
}

// ValidateConfig checks what the validate walk knows. Terraform validates
// action configuration only there, where every variable is unknown, so
// ModifyPlan and Invoke check again.
//
// An action block without a config block (which Terraform 1.15 and 1.16
// send as an object of nulls, like an empty one) gets no diagnostic here or
// in ModifyPlan: Terraform 1.15.0 crashes (exit 11, a nil body in
// tfdiags ElaborateFromConfigBody) on any diagnostic, with an attribute
// path or without, that ValidateActionConfig or PlanAction returns for
// such a block. Invoke refuses it, before any API call, through a path
// that places diagnostics on the action's declaration instead.
func (a *revokeTokensAction) ValidateConfig(ctx context.Context, req action.ValidateConfigRequest, resp *action.ValidateConfigResponse) {
	var m revokeTokensModel
	if blankConfig(ctx, req.Config, &m, &resp.Diagnostics) {
		return
	}
	m.checkSelection(&resp.Diagnostics)
}

// ModifyPlan (PlanAction) checks again with the values the plan knows:
// variables are known here, values from resources not yet created are not.
func (a *revokeTokensAction) ModifyPlan(ctx context.Context, req action.ModifyPlanRequest, resp *action.ModifyPlanResponse) {
	var m revokeTokensModel
	if blankConfig(ctx, req.Config, &m, &resp.Diagnostics) {
		return
	}
	checkFinal(ctx, req.Config, nil, &resp.Diagnostics)
}

// blankConfig decodes the configuration into m and tells whether it sets
// nothing at all (no config block, or an empty one), or could not be read.
func blankConfig(ctx context.Context, cfg tfsdk.Config, m *revokeTokensModel, diags *diag.Diagnostics) bool {
	if cfg.Raw.IsNull() {
		return true
	}
	diags.Append(cfg.Get(ctx, m)...)
	return diags.HasError() || m.blank()
}

// checkFinal applies every schema validator and selection rule to the
// configuration as it is now, and decodes it into m when m is not nil.
// With final set (Invoke), an unknown value is an error.
func checkFinal(ctx context.Context, cfg tfsdk.Config, m *revokeTokensModel, diags *diag.Diagnostics) {
	var local revokeTokensModel
	if m == nil {
		m = &local
	}
	diags.Append(cfg.Get(ctx, m)...)
	if diags.HasError() {
		return
	}
	recheckValidators(ctx, revokeTokensSchema(), cfg, diags)
	m.checkSelection(diags)
}

// recheckValidators runs the schema's attribute validators on the values
// the configuration holds now. The framework runs them only in
// ValidateConfig, where values from variables are unknown and skipped.
func recheckValidators(ctx context.Context, s schema.Schema, cfg tfsdk.Config, diags *diag.Diagnostics) {
	for name, at := range s.Attributes {
		p := path.Root(name)
		var v attr.Value
		if d := cfg.GetAttribute(ctx, p, &v); d.HasError() {
			diags.Append(d...)
			continue
		}
		switch at := at.(type) {
		case schema.StringAttribute:
			sv, ok := v.(basetypes.StringValuable)
			if !ok {
				continue
			}
			str, d := sv.ToStringValue(ctx)
			diags.Append(d...)
			for _, val := range at.Validators {
				r := &validator.StringResponse{}
				val.ValidateString(ctx, validator.StringRequest{Path: p, PathExpression: p.Expression(), Config: cfg, ConfigValue: str}, r)
				diags.Append(r.Diagnostics...)
			}
			if tv, ok := v.(timetypes.RFC3339); ok && isKnown(tv) {
				_, d := tv.ValueRFC3339Time()
				diags.Append(d...)
			}
		case schema.SetAttribute:
			set, ok := v.(types.Set)
			if !ok {
				continue
			}
			for _, val := range at.Validators {
				r := &validator.SetResponse{}
				val.ValidateSet(ctx, validator.SetRequest{Path: p, PathExpression: p.Expression(), Config: cfg, ConfigValue: set}, r)
				diags.Append(r.Diagnostics...)
			}
		case schema.ListAttribute:
			list, ok := v.(types.List)
			if !ok {
				continue
			}
			for _, val := range at.Validators {
				r := &validator.ListResponse{}
				val.ValidateList(ctx, validator.ListRequest{Path: p, PathExpression: p.Expression(), Config: cfg, ConfigValue: list}, r)
				diags.Append(r.Diagnostics...)
			}
		case schema.Int64Attribute:
			n, ok := v.(types.Int64)
			if !ok {
				continue
			}
			for _, val := range at.Validators {
				r := &validator.Int64Response{}
				val.ValidateInt64(ctx, validator.Int64Request{Path: p, PathExpression: p.Expression(), Config: cfg, ConfigValue: n}, r)
				diags.Append(r.Diagnostics...)
			}
		}
	}
}

// namedValue is one argument's value, with its name.
type namedValue struct {
	name string
	v    attr.Value
}

// selectors are the arguments that select tokens, by name and by filter.
func (m *revokeTokensModel) selectors() []namedValue {
	return []namedValue{
		{"token_ids", m.TokenIDs}, {"key_prefixes", m.KeyPrefixes}, {"secrets", m.Secrets},
		{"name_prefix", m.NamePrefix}, {"created_before", m.CreatedBefore}, {"used_since", m.UsedSince},
	}
}

// checkSelection applies the cross-argument rules. An unknown value may
// still turn out to be anything, so it passes here, and the next check
// (ModifyPlan, then Invoke) sees it known.
func (m *revokeTokensModel) checkSelection(diags *diag.Diagnostics) {
	var set []string
	maySelect := false
	for _, s := range m.selectors() {
		switch {
		case s.v.IsUnknown():
			maySelect = true
		case !s.v.IsNull():
			maySelect = true
			set = append(set, s.name)
		}
	}
	switch {
	case m.All.IsUnknown():
	case m.All.ValueBool() && len(set) > 0:
		diags.AddAttributeError(path.Root("all"), summaryConflictSelection,
			fmt.Sprintf("all = true revokes every token where kind and fleet_id say, so it cannot be combined with %s. Remove all "+
				"to revoke only the tokens those select, or remove them to revoke everything.", strings.Join(set, ", ")))
	case !m.All.ValueBool() && !maySelect:
		why := "The action selects no tokens in particular"
		if !m.All.IsNull() {
			why = "all = false selects nothing (it is not a filter), and nothing else selects any token"
		}
		detail := why + ": set token_ids, key_prefixes or secrets, or at least one of name_prefix, created_before and used_since. " +
			"Values from variables, locals and resources count once they are known: one that turned out null counts as unset. " +
			"To revoke every token where kind and fleet_id say (every fleet token of the fleet, every personal token, or both), " +
			"set all = true."
		if m.blank() {
			// No config block, or an empty one (Terraform sends an object of
			// nulls for a missing block): reported by Invoke only, without
			// a path (see ValidateConfig).
			diags.AddError(summaryEmptySelection, "The action has no config block, or an empty one. Add one that says what to "+
				"revoke.\n\n"+detail)
		} else {
			diags.AddAttributeError(path.Root("all"), summaryEmptySelection, detail)
		}
	}
	if m.Kind.ValueString() == kindPersonal && !m.FleetID.IsNull() && !m.FleetID.IsUnknown() {
		diags.AddAttributeError(path.Root("fleet_id"), summaryConflictSelection,
			"fleet_id selects fleet tokens, but kind = \"personal\" selects personal tokens only. Remove one of them.")
	}
}

// blank tells whether no argument is set at all (every value null).
func (m *revokeTokensModel) blank() bool {
	for _, s := range m.all() {
		if !s.v.IsNull() {
			return false
		}
	}
	return true
}

// all is every argument's value.
func (m *revokeTokensModel) all() []namedValue {
	return append(m.selectors(), namedValue{"all", m.All}, namedValue{"kind", m.Kind}, namedValue{"fleet_id", m.FleetID},
		namedValue{"max_revocations", m.MaxRevocations}, namedValue{"include_self", m.IncludeSelf}, namedValue{"dry_run", m.DryRun})
}

// checkKnown fails an invocation on any value still unknown: Terraform
// resolves every value before it invokes an action, so this does not
// happen, and if it did the action must not guess.
func (m *revokeTokensModel) checkKnown(diags *diag.Diagnostics) {
	for _, s := range m.all() {
		if s.v.IsUnknown() {
			diags.AddAttributeError(path.Root(s.name), summaryUnknownAtInvoke,
				s.name+" is still unknown when the action runs, so cmdop_revoke_tokens revoked nothing. Make it depend only on values "+
					"known by then.")
		}
	}
}
