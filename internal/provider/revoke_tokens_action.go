package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
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
	_ action.ActionWithModifyPlan     = (*revokeTokensAction)(nil)
)

// defaultMaxRevocations bounds a selection that does not set
// max_revocations: a targeted leak response rarely reaches it.
const defaultMaxRevocations = 20

// NewRevokeTokensAction returns the cmdop_revoke_tokens action.
func NewRevokeTokensAction() action.Action { return &revokeTokensAction{} }

// Values of the action's kind argument.
const (
	kindFleet    = "fleet"
	kindPersonal = "personal"
)

type revokeTokensModel struct {
	TokenIDs       types.Set         `tfsdk:"token_ids"`
	KeyPrefixes    types.Set         `tfsdk:"key_prefixes"`
	Secrets        types.List        `tfsdk:"secrets"`
	MaxRevocations types.Int64       `tfsdk:"max_revocations"`
	FleetID        types.String      `tfsdk:"fleet_id"`
	Kind           types.String      `tfsdk:"kind"`
	NamePrefix     types.String      `tfsdk:"name_prefix"`
	CreatedBefore  timetypes.RFC3339 `tfsdk:"created_before"`
	UsedSince      timetypes.RFC3339 `tfsdk:"used_since"`
	All            types.Bool        `tfsdk:"all"`
	IncludeSelf    types.Bool        `tfsdk:"include_self"`
	DryRun         types.Bool        `tfsdk:"dry_run"`
}

var (
	uuidPattern      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	keyPrefixPattern = regexp.MustCompile(`^cmdop_[0-9A-Za-z]{6}$`)
)

func (a *revokeTokensAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_revoke_tokens"
}

func (a *revokeTokensAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = revokeTokensSchema()
}

func revokeTokensSchema() schema.Schema {
	ts := func(desc string) schema.Attribute {
		return schema.StringAttribute{MarkdownDescription: desc, Optional: true, CustomType: timetypes.RFC3339Type{}}
	}
	return schema.Schema{
		MarkdownDescription: "Revokes CMDOP tokens at once, for when a secret has leaked (Terraform 1.14 or later): run it with " +
			"`terraform apply -invoke=action.cmdop_revoke_tokens.<name>`, or trigger it from a resource's `lifecycle.action_trigger`. " +
			"It selects tokens by name (`token_ids`, `key_prefixes`, or the leaked `secrets` themselves) or by filters, which " +
			"combine: every token that matches all of them is revoked. `kind` and `fleet_id` say where to look; without them it " +
			"looks at the caller's personal tokens and the provider's default fleet. A selection with no `token_ids`, " +
			"`key_prefixes`, `secrets` or filter (`name_prefix`, `created_before`, `used_since`) is refused, unless `all = true` " +
			"asks for every token in those places; `all = false` selects nothing. These rules are checked again with the final " +
			"values when the action is planned and when it runs, so that a variable, a local or a trigger cannot get around them. " +
			"A token, key prefix or secret that matches no token fails the action before anything is revoked, and a filter that " +
			"matches nothing gets a warning. A selection of more than `max_revocations` tokens (default 20) fails before anything " +
			"is revoked, unless `all = true`. It never revokes the token the provider itself authenticates with unless " +
			"`include_self = true`, and then revokes it last. It reports each revocation as it happens and ends with a summary of " +
			"what it revoked, what was already revoked and what failed, each with the request ID that the audit log records its " +
			"`token.revoked` event under; a revocation whose answer was lost is read back before it is reported. Tokens it revokes " +
			"that are still in a Terraform state are replaced by that configuration's next apply, with the usual \"was revoked\" warning.",
		Attributes: map[string]schema.Attribute{
			"token_ids": schema.SetAttribute{
				MarkdownDescription: "The IDs (UUIDs) of the tokens to revoke, such as `cmdop_fleet_token.ci.id`. They are looked " +
					"for where `kind` and `fleet_id` say; an ID found nowhere there fails the action before anything is revoked.",
				Optional:    true,
				ElementType: types.StringType,
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1),
					setvalidator.ValueStringsAre(stringvalidator.RegexMatches(uuidPattern, "must be a token ID (a UUID)")),
				},
			},
			"key_prefixes": schema.SetAttribute{
				MarkdownDescription: "The key prefixes of the tokens to revoke (`cmdop_` and six characters), as the CMDOP console, " +
					"the audit log and this provider's `key_prefix` attributes show them. A prefix that matches no token where " +
					"`kind` and `fleet_id` say fails the action before anything is revoked.",
				Optional:    true,
				ElementType: types.StringType,
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1),
					setvalidator.ValueStringsAre(stringvalidator.RegexMatches(keyPrefixPattern, "must be a key prefix: cmdop_ and six letters or digits")),
				},
			},
			"secrets": schema.ListAttribute{
				MarkdownDescription: "The leaked secrets themselves, as a secret-scanning alert hands them over: each selects the token " +
					"it authenticates as. Pass them from a variable declared `sensitive = true` (`TF_VAR_…`), never written into a " +
					"file: Terraform then shows them as `(sensitive value)`, and the provider never prints or logs them (an action " +
					"argument cannot be sensitive or write-only yet: terraform-plugin-framework v1.19.0 refuses any write-only action " +
					"argument that has a value). The provider finds each token with one who-am-I call made with that secret, which " +
					"the API records as one use of the token (a `token.used` audit event, and its `last_used_at`). A secret that does " +
					"not authenticate is reported as \"already revoked or not a CMDOP token\", not as a failure.",
				Optional:    true,
				ElementType: types.StringType,
				Validators:  []validator.List{listvalidator.SizeAtLeast(1)}, // never a validator that quotes the value
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
				MarkdownDescription: "Only tokens whose name starts with this. It must not be empty.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"created_before": ts("Only tokens issued before this time (RFC3339), such as when the leak was found."),
			"used_since":     ts("Only tokens used at or after this time (RFC3339), such as when the secret leaked."),
			"all": schema.BoolAttribute{
				MarkdownDescription: "`true` revokes every token where `kind` and `fleet_id` say, with no other selection. Required for an " +
					"unfiltered selection; conflicts with the other selections. `false` is the same as leaving it out: it is not a filter, " +
					"and selects nothing.",
				Optional: true,
			},
			"max_revocations": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("The most tokens the action may revoke (default %d). A larger selection fails before "+
					"anything is revoked, with the count and the tokens it selected, unless `all = true`; a dry run reports the same. "+
					"Raise it when a response really needs more.", defaultMaxRevocations),
				Optional:   true,
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"include_self": schema.BoolAttribute{
				MarkdownDescription: "Also revoke the token the provider authenticates with, if the selection includes it: it is " +
					"revoked last, and the provider needs a new token afterwards. By default it is skipped, with a warning.",
				Optional: true,
			},
			"dry_run": schema.BoolAttribute{
				MarkdownDescription: "Only report what would be revoked; revoke nothing. Set it from a variable " +
					"(`dry_run = var.dry_run`) to switch between a dry run and the real one with `-var dry_run=true`.",
				Optional: true,
			},
		},
	}
}

func (a *revokeTokensAction) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	a.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
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
	unsure    bool // revoked, but the audit log could not say by which request
	err       error
}

func (o outcome) line() string {
	s := o.sel.describe()
	switch {
	case o.err != nil && o.requestID == "":
		return fmt.Sprintf("%s: %s", s, cmdopapi.Redact(o.err.Error()))
	case o.err != nil:
		return fmt.Sprintf("%s: %s (request ID %s)", s, cmdopapi.Redact(o.err.Error()), o.requestID)
	case o.unsure:
		return s + ", request ID unknown (the call was retried; its token.revoked event in the audit log has it)"
	}
	return fmt.Sprintf("%s, request ID %s", s, orNone(o.requestID))
}

func (a *revokeTokensAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	ctx = cmdop.MaskSecrets(ctx)
	if req.Config.Raw.IsNull() {
		missingConfig(&resp.Diagnostics)
		return
	}
	// Every rule again, on the final values, before any API call.
	var m revokeTokensModel
	checkFinal(ctx, req.Config, &m, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	m.checkKnown(&resp.Diagnostics)
	client := clientFrom(a.data, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// Who the provider is: its own token is never revoked unless
	// include_self, and then last (nothing works after it); a fleet token
	// has no personal tokens to look at. Without that answer neither
	// promise holds, with include_self or without.
	includeSelf := m.IncludeSelf.ValueBool()
	acct, err := a.data.account(ctx) // memoised per provider process
	if err != nil {
		resp.Diagnostics.AddError(summaryIdentifySelfFailed,
			"cmdop_revoke_tokens never revokes the token the provider authenticates with unless include_self = true, and then "+
				"only after every other token, but it could not ask the CMDOP API which token that is, so it revoked nothing. "+
				"Run it again once the API answers.\n\n"+cmdopapi.Redact(err.Error()))
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
	if !m.All.ValueBool() && !run.withinBound(todo, &m) {
		return
	}
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

// withinBound enforces max_revocations: a selection that would revoke more
// tokens fails, dry run or not, before anything is revoked, listing them.
func (r *revokeRun) withinBound(todo []selected, m *revokeTokensModel) bool {
	limit := int64(defaultMaxRevocations)
	if !m.MaxRevocations.IsNull() {
		limit = m.MaxRevocations.ValueInt64()
	}
	var active []string
	for _, s := range todo {
		if s.token.Status != cmdopapi.StatusRevoked && s.token.RevokedAt == nil {
			active = append(active, "- "+s.describe())
		}
	}
	if int64(len(active)) <= limit {
		return true
	}
	r.progress("cmdop_revoke_tokens: %d token(s) to revoke, more than max_revocations = %d: nothing is revoked.\n%s",
		len(active), limit, strings.Join(active, "\n"))
	r.resp.Diagnostics.AddAttributeError(path.Root("max_revocations"), summaryTooMany,
		fmt.Sprintf("The selection would revoke %d token(s), more than max_revocations = %d, so cmdop_revoke_tokens revoked "+
			"nothing. Check that the selection is the one you meant. If it is, set max_revocations = %d (or more) in the action's "+
			"config, or use all = true to revoke every token where kind and fleet_id say.\n\nSelected:\n%s",
			len(active), limit, len(active), strings.Join(active, "\n")))
	return false
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
