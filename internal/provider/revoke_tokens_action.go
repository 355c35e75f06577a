package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// revokeTokensAction implements cmdop_revoke_tokens (Terraform 1.14+), the
// answer to "a secret leaked, revoke now": it revokes the tokens a
// selection names, reporting each revocation as it happens and ending with
// a summary whose request IDs match the audit log.
type revokeTokensAction struct {
	data *providerData
}

var (
	_ action.ActionWithConfigure      = (*revokeTokensAction)(nil)
	_ action.ActionWithValidateConfig = (*revokeTokensAction)(nil)
)

// NewRevokeTokensAction returns the cmdop_revoke_tokens action.
func NewRevokeTokensAction() action.Action { return &revokeTokensAction{} }

// Values of the action's kind argument.
const (
	kindFleet    = "fleet"
	kindPersonal = "personal"
)

type revokeTokensModel struct {
	TokenIDs      types.Set         `tfsdk:"token_ids"`
	FleetID       types.String      `tfsdk:"fleet_id"`
	Kind          types.String      `tfsdk:"kind"`
	NamePrefix    types.String      `tfsdk:"name_prefix"`
	CreatedBefore timetypes.RFC3339 `tfsdk:"created_before"`
	UsedSince     timetypes.RFC3339 `tfsdk:"used_since"`
	All           types.Bool        `tfsdk:"all"`
	IncludeSelf   types.Bool        `tfsdk:"include_self"`
	DryRun        types.Bool        `tfsdk:"dry_run"`
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (a *revokeTokensAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_revoke_tokens"
}

func (a *revokeTokensAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	ts := func(desc string) schema.Attribute {
		return schema.StringAttribute{MarkdownDescription: desc, Optional: true, CustomType: timetypes.RFC3339Type{}}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Revokes CMDOP tokens at once, for when a secret has leaked (Terraform 1.14 or later): run it with " +
			"`terraform apply -invoke=action.cmdop_revoke_tokens.<name>`, or trigger it from a resource's `lifecycle.action_trigger`. " +
			"It selects tokens by `token_ids` or by filters, which combine: every token that matches all of them is revoked. " +
			"`kind` and `fleet_id` say where to look; without them it looks at the caller's personal tokens and the provider's " +
			"default fleet. A selection with neither `token_ids` nor a filter (`name_prefix`, `created_before`, `used_since`) is " +
			"refused at plan time, unless `all = true` asks for every token in those places. It never revokes the token the " +
			"provider itself authenticates with unless `include_self = true`, and says so when it skips it. It reports each " +
			"revocation as it happens and ends with a summary of what it revoked, what was already revoked and what failed, each " +
			"with the request ID the audit log records it under. Tokens it revokes that are still in a Terraform state are " +
			"replaced by that configuration's next apply, with the usual \"was revoked\" warning.",
		Attributes: map[string]schema.Attribute{
			"token_ids": schema.SetAttribute{
				MarkdownDescription: "The IDs (UUIDs) of the tokens to revoke, such as `cmdop_fleet_token.ci.id`. They are looked " +
					"for where `kind` and `fleet_id` say; an ID found nowhere there is reported as failed.",
				Optional:    true,
				ElementType: types.StringType,
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1),
					setvalidator.ValueStringsAre(stringvalidator.RegexMatches(uuidPattern, "must be a token ID (a UUID)")),
				},
			},
			"fleet_id": schema.StringAttribute{
				MarkdownDescription: "Look for fleet tokens in this fleet, instead of the provider's `fleet_id` (or `CMDOP_FLEET_ID`, " +
					"or the fleet of the provider's own fleet token). " +
					"Implies `kind = \"fleet\"`.",
				Optional:   true,
				Validators: fleetIDValidators(),
			},
			"kind": schema.StringAttribute{
				MarkdownDescription: "Look only at `fleet` tokens (of `fleet_id`, or the provider's fleet) or only at the caller's " +
					"`personal` tokens. Default: both, the personal tokens when the provider authenticates with a personal token, and " +
					"the fleet tokens of the provider's `fleet_id` (or of the fleet of the provider's own fleet token).",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf(kindFleet, kindPersonal)},
			},
			"name_prefix": schema.StringAttribute{
				MarkdownDescription: "Only tokens whose name starts with this.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"created_before": ts("Only tokens issued before this time (RFC3339), such as when the leak was found."),
			"used_since":     ts("Only tokens used at or after this time (RFC3339), such as when the secret leaked."),
			"all": schema.BoolAttribute{
				MarkdownDescription: "Revoke every token where `kind` and `fleet_id` say, with no other selection. Required for an " +
					"unfiltered selection; conflicts with `token_ids` and the filters.",
				Optional: true,
			},
			"include_self": schema.BoolAttribute{
				MarkdownDescription: "Also revoke the token the provider authenticates with, if the selection includes it: it is " +
					"revoked last, and the provider needs a new token afterwards. By default it is skipped, with a warning.",
				Optional: true,
			},
			"dry_run": schema.BoolAttribute{
				MarkdownDescription: "Only report what would be revoked; revoke nothing.",
				Optional:            true,
			},
		},
	}
}

func (a *revokeTokensAction) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	a.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// narrowed reports whether the configuration selects by ID or filter
// (unknown values count: they are known by the time the action runs).
func (m *revokeTokensModel) narrowed() bool {
	return !m.TokenIDs.IsNull() || !m.NamePrefix.IsNull() || !m.CreatedBefore.IsNull() || !m.UsedSince.IsNull()
}

// ValidateConfig refuses, at plan time, a selection that selects nothing in
// particular without all = true, all = true with a narrower selection, and
// fleet_id with kind = "personal".
func (a *revokeTokensAction) ValidateConfig(ctx context.Context, req action.ValidateConfigRequest, resp *action.ValidateConfigResponse) {
	var m revokeTokensModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	switch {
	case m.All.IsUnknown():
	case m.All.ValueBool() && m.narrowed():
		resp.Diagnostics.AddAttributeError(path.Root("all"), "Conflicting token selection in cmdop_revoke_tokens",
			"all = true revokes every token where kind and fleet_id say, so it cannot be combined with token_ids, name_prefix, "+
				"created_before or used_since. Remove all to revoke only the tokens those select, or remove them to revoke everything.")
	case !m.All.ValueBool() && !m.narrowed():
		resp.Diagnostics.AddAttributeError(path.Root("all"), "Empty token selection in cmdop_revoke_tokens",
			"The action selects no tokens in particular: set token_ids, or at least one of name_prefix, created_before and "+
				"used_since. To revoke every token where kind and fleet_id say (every fleet token of the fleet, every personal "+
				"token, or both), set all = true.")
	}
	if m.Kind.ValueString() == kindPersonal && !m.FleetID.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("fleet_id"), "Conflicting token selection in cmdop_revoke_tokens",
			"fleet_id selects fleet tokens, but kind = \"personal\" selects personal tokens only. Remove one of them.")
	}
}

// revokeScope is one collection the action looks in.
type revokeScope struct {
	kind  tokenKind
	fleet string // "" for personal tokens
}

// selected is one token of the selection, with where it lives.
type selected struct {
	scope revokeScope
	token cmdopapi.Token
}

func (s selected) describe() string {
	if s.token.Name == "" { // a token ID found nowhere
		return "token " + s.token.ID
	}
	return fmt.Sprintf("%s %q (%s, %s)", s.scope.kind.label, s.token.Name, s.token.KeyPrefix, s.token.ID)
}

// outcome is what happened to one selected token.
type outcome struct {
	sel       selected
	requestID string
	err       error
}

func (o outcome) line() string {
	s := o.sel.describe()
	if o.err != nil && o.requestID == "" {
		return fmt.Sprintf("%s: %s", s, cmdopapi.Redact(o.err.Error()))
	}
	if o.err != nil {
		return fmt.Sprintf("%s: %s (request ID %s)", s, cmdopapi.Redact(o.err.Error()), o.requestID)
	}
	return fmt.Sprintf("%s, request ID %s", s, orNone(o.requestID))
}

func (a *revokeTokensAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	ctx = cmdop.MaskSecrets(ctx)
	var m revokeTokensModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	client := clientFrom(a.data, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// Who the provider is: its own token is never revoked unless
	// include_self, and a fleet token has no personal tokens to look at.
	includeSelf := m.IncludeSelf.ValueBool()
	acct, err := a.data.account(ctx) // memoised per provider process
	if err != nil && !includeSelf {
		resp.Diagnostics.AddError("Error identifying the provider's own token for cmdop_revoke_tokens",
			"cmdop_revoke_tokens never revokes the token the provider authenticates with unless include_self = true, but it "+
				"could not ask the CMDOP API which token that is, so it revoked nothing. Run it again, or set include_self = true "+
				"if revoking the provider's own token is acceptable.\n\n"+cmdopapi.Redact(err.Error()))
		return
	}
	run := &revokeRun{ctx: ctx, client: client, tokens: a.data.tokens, dryRun: m.DryRun.ValueBool(), resp: resp}
	sel, scopes := a.selectTokens(ctx, client, &m, acct, run, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	// The provider's own token: skipped unless include_self, else revoked last.
	var self *selected
	todo := make([]selected, 0, len(sel))
	for _, s := range sel {
		if acct != nil && strings.EqualFold(s.token.ID, acct.TokenID) {
			self = &s
			continue
		}
		todo = append(todo, s)
	}
	if self != nil && includeSelf {
		todo = append(todo, *self) // last: nothing works after it
	}

	note := ""
	if run.dryRun {
		note = " (dry run: nothing is revoked)"
	}
	run.progress("cmdop_revoke_tokens: %d token(s) selected among %s%s.", len(sel), describeScopes(scopes), note)
	for _, s := range todo {
		run.revoke(s)
	}
	if self != nil && !includeSelf {
		run.progress("Skipped the provider's own token, %s: set include_self = true to revoke it.", self.describe())
		resp.Diagnostics.AddWarning("cmdop_revoke_tokens skipped the provider's own token",
			fmt.Sprintf("The selection includes %s, the token this provider authenticates with. cmdop_revoke_tokens never revokes "+
				"it unless include_self = true, since Terraform could not call the CMDOP API with it afterwards. If that token "+
				"leaked, run the action again with include_self = true, then give the provider a new token.", self.describe()))
	}
	run.summarize()
}

// selectTokens lists every scope afresh and keeps the tokens the
// configuration selects. A token ID found in no scope is recorded as failed.
func (a *revokeTokensAction) selectTokens(ctx context.Context, client *cmdop.Client, m *revokeTokensModel, acct *cmdopapi.Account,
	run *revokeRun, diags *diag.Diagnostics,
) ([]selected, []revokeScope) {
	scopes := a.scopes(m, acct, diags)
	filter := tokenFilter{
		NamePrefix:    m.NamePrefix.ValueString(),
		CreatedBefore: timeOrZero(m.CreatedBefore, diags),
		UsedSince:     timeOrZero(m.UsedSince, diags),
	}
	var ids []string
	if !m.TokenIDs.IsNull() {
		diags.Append(m.TokenIDs.ElementsAs(ctx, &ids, false)...)
		filter.IDs = map[string]bool{}
		for _, id := range ids {
			filter.IDs[strings.ToLower(id)] = true
		}
	}
	if diags.HasError() {
		return nil, nil
	}
	var sel []selected
	found := map[string]bool{}
	for _, sc := range scopes {
		all, err := client.ListAllTokens(ctx, sc.fleet)
		if err != nil {
			diags.Append(a.data.apiError("listing", sc.kind.label+"s for cmdop_revoke_tokens", sc.fleet, err))
			return nil, nil
		}
		for _, t := range all {
			if filter.matches(&t) {
				sel = append(sel, selected{scope: sc, token: t})
				found[strings.ToLower(t.ID)] = true
			}
		}
	}
	for _, id := range ids {
		if !found[strings.ToLower(id)] {
			run.failed = append(run.failed, outcome{
				sel: selected{token: cmdopapi.Token{ID: id}},
				err: fmt.Errorf("not found among %s", describeScopes(scopes)),
			})
		}
	}
	return sel, scopes
}

// scopes resolves kind and fleet_id into the collections to look in. The
// default fleet is the provider's, or else that of the provider's own fleet
// token; acct (who the provider is) may be nil.
func (a *revokeTokensAction) scopes(m *revokeTokensModel, acct *cmdopapi.Account, diags *diag.Diagnostics) []revokeScope {
	personal := revokeScope{kind: personalToken}
	isFleetToken := acct != nil && acct.TokenType == cmdopapi.TokenTypeFleet
	fleet := a.data.fleetID
	if !m.FleetID.IsNull() {
		fleet = m.FleetID.ValueString()
	} else if fleet == "" && isFleetToken {
		fleet = acct.FleetID
	}
	switch kind := m.Kind.ValueString(); {
	case kind == kindPersonal:
		return []revokeScope{personal}
	case kind == kindFleet || !m.FleetID.IsNull():
		if fleet == "" {
			diags.AddAttributeError(path.Root("fleet_id"), "Missing fleet ID",
				"Set fleet_id on the action, or fleet_id on the provider (or the "+envFleetID+" environment variable).")
		}
		return []revokeScope{{kind: fleetToken, fleet: fleet}}
	}
	var scopes []revokeScope
	if !isFleetToken { // a fleet token has no personal tokens
		scopes = append(scopes, personal)
	}
	if fleet != "" {
		scopes = append(scopes, revokeScope{kind: fleetToken, fleet: fleet})
	}
	return scopes
}

func describeScopes(scopes []revokeScope) string {
	parts := make([]string, len(scopes))
	for i, sc := range scopes {
		if sc.kind.fleet {
			parts[i] = "the fleet tokens of fleet " + sc.fleet
		} else {
			parts[i] = "the caller's personal tokens"
		}
	}
	return strings.Join(parts, " and ")
}
