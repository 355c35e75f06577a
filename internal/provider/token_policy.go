package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/tokenpolicy"
	"github.com/cmdop/terraform-provider-cmdop/internal/validators"
)

// The token policy: the provider's token_policy block and the platform
// team's file (CMDOP_TOKEN_POLICY_FILE), merged stricter-wins per token
// kind, judge every token before it is issued: at plan for the resources
// (create and replacement), at open for the ephemeral tokens.

// policyFiles reads each policy file once per provider process.
var policyFiles tokenpolicy.Cache

// tokenPolicies is the effective policy of each kind; nil when no rule
// applies to it, so that a configuration without a policy pays nothing.
type tokenPolicies struct {
	fleet, personal *tokenpolicy.Effective
}

func (p *tokenPolicies) forKind(kind tokenKind) *tokenpolicy.Effective {
	switch {
	case p == nil:
		return nil
	case kind.fleet:
		return p.fleet
	default:
		return p.personal
	}
}

type policyRulesModel struct {
	MaxExpiry       types.String `tfsdk:"max_expiry"`
	RequireRotation types.Bool   `tfsdk:"require_rotation"`
	AllowedScopes   types.Set    `tfsdk:"allowed_scopes"`
	ForbiddenScopes types.Set    `tfsdk:"forbidden_scopes"`
	NamePattern     types.String `tfsdk:"name_pattern"`
	MaxGracePeriod  types.String `tfsdk:"max_grace_period"`
	MaxEphemeralTTL types.String `tfsdk:"max_ephemeral_ttl"`
}

type tokenPolicyModel struct {
	policyRulesModel
	Fleet    types.Object `tfsdk:"fleet"`
	Personal types.Object `tfsdk:"personal"`
}

// tokenPolicyBlock is the provider's token_policy block.
func tokenPolicyBlock() schema.Block {
	return schema.SingleNestedBlock{
		MarkdownDescription: "Limits on every token this configuration issues, enforced at plan, before any token exists: " +
			"a `cmdop_fleet_token` or `cmdop_personal_token` that breaks a rule fails the plan on create and on every " +
			"replacement, and an ephemeral token fails when it is opened. Every rule is optional and every limit inclusive. " +
			"The `fleet` and `personal` blocks set a rule for one kind of token, replacing the top-level value for that kind. " +
			"The same rules can come from a JSON file named by the `" + tokenpolicy.EnvFile + "` environment variable; when " +
			"both set a rule, the stricter wins. An existing token that breaks a new rule is not replaced: each plan warns about it. " +
			"See the token policy guide.",
		Attributes: policyRuleAttributes(),
		Blocks: map[string]schema.Block{
			tokenpolicy.Fleet: schema.SingleNestedBlock{
				MarkdownDescription: "Rules for fleet tokens only; each replaces the top-level rule of the same name for them.",
				Attributes:          policyRuleAttributes(),
			},
			tokenpolicy.Personal: schema.SingleNestedBlock{
				MarkdownDescription: "Rules for personal tokens only; each replaces the top-level rule of the same name for them.",
				Attributes:          policyRuleAttributes(),
			},
		},
	}
}

func policyRuleAttributes() map[string]schema.Attribute {
	limit := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{
			MarkdownDescription: desc + " An expiry preset or a day or hour form, such as `\"30d\"`, `\"1y\"` or `\"2160h\"`.",
			Optional:            true,
			Validators:          []validator.String{policyRuleValidator{}},
		}
	}
	scopes := func(desc string) schema.SetAttribute {
		return schema.SetAttribute{
			MarkdownDescription: desc,
			Optional:            true,
			ElementType:         types.StringType,
			Validators: []validator.Set{
				setvalidator.NoNullValues(),
				setvalidator.ValueStringsAre(stringvalidator.OneOf(cmdopapi.Scopes...)),
			},
		}
	}
	return map[string]schema.Attribute{
		tokenpolicy.RuleMaxExpiry: limit("The longest a token may live: its `expiry` must end no later than this after it is " +
			"issued, by the API server's clock. `\"never\"` is refused here, and a token with `expiry = \"never\"` breaks the rule."),
		tokenpolicy.RuleRequireRotation: schema.BoolAttribute{
			MarkdownDescription: "When true, every token must rotate: `rotate_before` or `rotation_triggers` must be set.",
			Optional:            true,
		},
		tokenpolicy.RuleAllowedScopes:   scopes("The only scopes a token may hold."),
		tokenpolicy.RuleForbiddenScopes: scopes("Scopes no token may hold."),
		tokenpolicy.RuleNamePattern: schema.StringAttribute{
			MarkdownDescription: "A regular expression (RE2 syntax) that every token's `name` must match; anchor it with `^` and `$` to match the whole name.",
			Optional:            true,
			Validators:          []validator.String{policyRuleValidator{}},
		},
		tokenpolicy.RuleMaxGracePeriod: limit("The longest `revoke_grace_period` a token may have."),
		tokenpolicy.RuleMaxEphemeralTTL: limit("The longest `ttl` an ephemeral token may have (at least `\"1h\"`, the shortest " +
			"ttl there is)."),
	}
}

// policyRuleValidator checks a rule's value as the policy parser will, so
// that `terraform validate` reports it.
type policyRuleValidator struct{}

func (policyRuleValidator) Description(context.Context) string {
	return "must be a valid token policy rule"
}

func (v policyRuleValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (policyRuleValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	rule := ""
	if last, _ := req.Path.Steps().LastStep(); last != nil {
		if name, ok := last.(path.PathStepAttributeName); ok {
			rule = string(name)
		}
	}
	s := req.ConfigValue.ValueString()
	var raw tokenpolicy.RawRules
	switch rule {
	case tokenpolicy.RuleMaxExpiry:
		raw.MaxExpiry = &s
	case tokenpolicy.RuleMaxGracePeriod:
		raw.MaxGracePeriod = &s
	case tokenpolicy.RuleMaxEphemeralTTL:
		raw.MaxEphemeralTTL = &s
	case tokenpolicy.RuleNamePattern:
		raw.NamePattern = &s
	default:
		return
	}
	if _, errs := tokenpolicy.Parse(tokenpolicy.BlockOrigin, tokenpolicy.Raw{RawRules: raw}); len(errs) > 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid token policy", fmt.Sprintf("%s: %s.", req.Path, errs[0].Msg))
	}
}

// loadTokenPolicy reads the block and the file and merges them for each
// kind. It returns nil when neither sets a rule.
func loadTokenPolicy(ctx context.Context, block types.Object, diags *diag.Diagnostics) *tokenPolicies {
	var layers []*tokenpolicy.Policy
	if !block.IsNull() {
		if block.IsUnknown() {
			diags.AddAttributeError(path.Root("token_policy"), "Invalid token policy",
				"token_policy depends on values Terraform knows only during apply, so no token could be judged at plan. "+
					"Set its rules from literals or input variables.")
			return nil
		}
		var m tokenPolicyModel
		diags.Append(block.As(ctx, &m, basetypes.ObjectAsOptions{})...)
		if diags.HasError() {
			return nil
		}
		raw := tokenpolicy.Raw{RawRules: rawRules(ctx, m.policyRulesModel, path.Root("token_policy"), diags)}
		for _, k := range []struct {
			name string
			obj  types.Object
			dst  **tokenpolicy.RawRules
		}{{tokenpolicy.Fleet, m.Fleet, &raw.Fleet}, {tokenpolicy.Personal, m.Personal, &raw.Personal}} {
			if k.obj.IsNull() || k.obj.IsUnknown() {
				continue
			}
			var rm policyRulesModel
			diags.Append(k.obj.As(ctx, &rm, basetypes.ObjectAsOptions{})...)
			r := rawRules(ctx, rm, path.Root("token_policy").AtName(k.name), diags)
			*k.dst = &r
		}
		if diags.HasError() {
			return nil
		}
		p, errs := tokenpolicy.Parse(tokenpolicy.BlockOrigin, raw)
		for _, e := range errs {
			at := path.Root("token_policy")
			for _, step := range strings.Split(e.Field, ".") {
				at = at.AtName(step)
			}
			diags.AddAttributeError(at, "Invalid token policy", fmt.Sprintf("token_policy.%s: %s.", e.Field, e.Msg))
		}
		if len(errs) > 0 {
			return nil
		}
		layers = append(layers, p)
	}
	if file := os.Getenv(tokenpolicy.EnvFile); file != "" {
		p, err := policyFiles.Load(file)
		if err != nil {
			diags.AddError("Invalid token policy file", err.Error()+". No token can be judged without the policy, so nothing is planned.")
			return nil
		}
		layers = append(layers, p)
	}
	out := &tokenPolicies{
		fleet:    tokenpolicy.Merge(tokenpolicy.Fleet, layers...),
		personal: tokenpolicy.Merge(tokenpolicy.Personal, layers...),
	}
	if out.fleet.Empty() && out.personal.Empty() {
		return nil
	}
	return out
}

// rawRules converts one level of the block; an unknown value is an error,
// since a rule that cannot be known cannot be enforced at plan.
func rawRules(ctx context.Context, m policyRulesModel, at path.Path, diags *diag.Diagnostics) tokenpolicy.RawRules {
	var r tokenpolicy.RawRules
	unknown := func(name string) {
		diags.AddAttributeError(at.AtName(name), "Invalid token policy",
			fmt.Sprintf("%s depends on a value Terraform knows only during apply, so it could not be enforced at plan. "+
				"Set it from a literal or an input variable.", at.AtName(name)))
	}
	str := func(name string, v types.String, dst **string) {
		switch {
		case v.IsUnknown():
			unknown(name)
		case !v.IsNull():
			s := v.ValueString()
			*dst = &s
		}
	}
	set := func(name string, v types.Set, dst **[]string) {
		switch {
		case v.IsUnknown():
			unknown(name)
		case !v.IsNull():
			var s []string
			diags.Append(v.ElementsAs(ctx, &s, false)...)
			*dst = &s
		}
	}
	str(tokenpolicy.RuleMaxExpiry, m.MaxExpiry, &r.MaxExpiry)
	str(tokenpolicy.RuleNamePattern, m.NamePattern, &r.NamePattern)
	str(tokenpolicy.RuleMaxGracePeriod, m.MaxGracePeriod, &r.MaxGracePeriod)
	str(tokenpolicy.RuleMaxEphemeralTTL, m.MaxEphemeralTTL, &r.MaxEphemeralTTL)
	set(tokenpolicy.RuleAllowedScopes, m.AllowedScopes, &r.AllowedScopes)
	set(tokenpolicy.RuleForbiddenScopes, m.ForbiddenScopes, &r.ForbiddenScopes)
	switch {
	case m.RequireRotation.IsUnknown():
		unknown(tokenpolicy.RuleRequireRotation)
	case !m.RequireRotation.IsNull():
		b := m.RequireRotation.ValueBool()
		r.RequireRotation = &b
	}
	return r
}

// policyViolation is the error of one broken rule, on the attribute that
// breaks it.
func policyViolation(what string, v tokenpolicy.Violation, diags *diag.Diagnostics) {
	diags.AddAttributeError(path.Root(v.Attribute), fmt.Sprintf("The %s breaks the token policy's %s rule", what, v.Rule),
		v.Detail()+" Every new token, and every replacement, must meet the policy: nothing was written to the API.")
}

// enforcePolicy judges a token resource's plan. A token about to be issued
// (a create, or the create half of a replacement, which Terraform plans
// with no prior state) that breaks a rule fails the plan. An existing token
// that breaks a rule is never replaced for it: the plan warns once per
// token, unless this plan itself changes the argument that breaks it.
func (r *tokenResource) enforcePolicy(ctx context.Context, plan, state *tokenResourceModel, now time.Time, resp *resource.ModifyPlanResponse) {
	eff := r.data.policy.forKind(r.kind)
	if eff.Empty() {
		return
	}
	if state == nil {
		for _, v := range eff.Check(policyTokenOf(ctx, plan, plannedLifetime(plan, now)), false) {
			policyViolation(r.describe(plan), v, &resp.Diagnostics)
		}
		return
	}
	replaced := len(resp.RequiresReplace) > 0 || isPending(state) ||
		!plan.Name.Equal(state.Name) || !plan.Scopes.Equal(state.Scopes) ||
		!sameExpiry(plan.Expiry.ValueString(), state.Expiry.ValueString()) || !plan.FleetID.Equal(state.FleetID) ||
		(!state.RotationTriggers.IsNull() && !plan.RotationTriggers.Equal(state.RotationTriggers))
	if replaced || plan.Expiry.IsUnknown() {
		return // Terraform plans the new token with no prior state: judged then
	}
	var warn []tokenpolicy.Violation
	for _, v := range eff.Check(policyTokenOf(ctx, plan, existingLifetime(state)), false) {
		changed := false
		switch v.Rule {
		case tokenpolicy.RuleMaxGracePeriod:
			changed = !plan.RevokeGracePeriod.Equal(state.RevokeGracePeriod)
		case tokenpolicy.RuleRequireRotation:
			changed = !plan.RotateBefore.Equal(state.RotateBefore) || !plan.RotationTriggers.Equal(state.RotationTriggers)
		}
		if changed {
			policyViolation(r.describe(plan), v, &resp.Diagnostics)
		} else {
			warn = append(warn, v)
		}
	}
	if len(warn) == 0 {
		return
	}
	rules := make([]string, len(warn))
	details := make([]string, len(warn))
	for i, v := range warn {
		rules[i], details[i] = v.Rule, v.Detail()
	}
	resp.Diagnostics.AddWarning(fmt.Sprintf("The %s breaks the token policy (%s)", r.describe(state), strings.Join(rules, ", ")),
		strings.Join(details, "\n\n")+"\n\nThe token was issued before the policy: Terraform does not replace it for this, and it keeps "+
			"working. Its next replacement (a rotation, or terraform apply -replace=<this resource's address>) must meet the policy, "+
			"so bring the configuration in line before then.")
}

// policyTokenOf is what the policy judges of a planned token resource;
// unknown values are left out (Terraform plans again, with them known,
// before it applies).
func policyTokenOf(ctx context.Context, m *tokenResourceModel, life *tokenpolicy.Lifetime) tokenpolicy.Token {
	t := tokenpolicy.Token{Lifetime: life}
	if !m.Name.IsUnknown() && !m.Name.IsNull() {
		n := m.Name.ValueString()
		t.Name = &n
	}
	t.Scopes = knownStrings(ctx, m.Scopes)
	if !m.RotateBefore.IsUnknown() && !m.RotationTriggers.IsUnknown() {
		rotates := !m.RotateBefore.IsNull() || len(m.RotationTriggers.Elements()) > 0
		t.Rotation = &rotates
	}
	if g := m.RevokeGracePeriod; !g.IsUnknown() && !g.IsNull() {
		if d, err := validators.ParseDuration(g.ValueString()); err == nil {
			t.GracePeriod = &tokenpolicy.Duration{Text: g.ValueString(), D: d}
		}
	}
	return t
}

// knownStrings is a set's strings; nil when it, or any element, is unknown.
func knownStrings(ctx context.Context, s types.Set) []string {
	if s.IsUnknown() || s.IsNull() {
		return nil
	}
	for _, e := range s.Elements() {
		if e.IsUnknown() {
			return nil
		}
	}
	out := []string{}
	_ = s.ElementsAs(ctx, &out, false)
	return out
}

// plannedLifetime is how long a token with the planned expiry would live,
// a date measured on the API server's clock; nil when unknown.
func plannedLifetime(m *tokenResourceModel, now time.Time) *tokenpolicy.Lifetime {
	if m.Expiry.IsUnknown() || m.Expiry.IsNull() {
		return nil
	}
	e, err := validators.ParseExpiry(m.Expiry.ValueString())
	if err != nil {
		return nil
	}
	l := &tokenpolicy.Lifetime{Never: e.Never, Text: m.Expiry.ValueString()}
	switch {
	case e.Days > 0:
		l.D = time.Duration(e.Days) * 24 * time.Hour
	case !e.Never:
		l.D = e.At.Sub(now)
		l.Note = " from now by the API server's clock, " + now.Format(time.RFC3339)
	}
	return l
}

// existingLifetime is how long an issued token lives: from its created_at
// to its expires_at, both the API's.
func existingLifetime(m *tokenResourceModel) *tokenpolicy.Lifetime {
	if m.ExpiresAt.IsNull() {
		return &tokenpolicy.Lifetime{Never: true}
	}
	created, d1 := m.CreatedAt.ValueRFC3339Time()
	expires, d2 := m.ExpiresAt.ValueRFC3339Time()
	if d1.HasError() || d2.HasError() || m.CreatedAt.IsNull() {
		return nil
	}
	return &tokenpolicy.Lifetime{D: expires.Sub(created), Text: m.Expiry.ValueString(),
		Note: ", from its created_at " + m.CreatedAt.ValueString() + " to its expires_at " + m.ExpiresAt.ValueString()}
}

// ephemeralPolicyRefuses judges an ephemeral token before it is opened:
// max_ephemeral_ttl, the scope rules and name_pattern.
func (r *ephemeralTokenResource) ephemeralPolicyRefuses(ctx context.Context, m *ephemeralTokenModel, ttl time.Duration, diags *diag.Diagnostics) bool {
	eff := r.data.policy.forKind(r.kind)
	if eff.Empty() {
		return false
	}
	t := tokenpolicy.Token{Scopes: knownStrings(ctx, m.Scopes), TTL: &tokenpolicy.Duration{Text: m.TTL.ValueString(), D: ttl}}
	if !m.Name.IsNull() && !m.Name.IsUnknown() {
		n := m.Name.ValueString()
		t.Name = &n
	}
	vs := eff.Check(t, true)
	for _, v := range vs {
		policyViolation(r.describe(m.Name.ValueString(), ""), v, diags)
	}
	return len(vs) > 0
}
