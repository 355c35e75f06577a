package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/validators"
)

// The lifetime of an ephemeral token.
const (
	defaultEphemeralTTL = "1h"
	minEphemeralTTL     = time.Hour
	maxEphemeralTTL     = 24 * time.Hour
	// ephemeralExpiryMargin is added to the ttl: the API wants an expiry at
	// least an hour ahead by its own clock when the request arrives, so a
	// ttl of exactly "1h" needs room for latency and clock drift.
	ephemeralExpiryMargin = time.Minute
	// ephemeralOpenTimeout and ephemeralCloseTimeout bound Open and Close,
	// retries included (ephemeral resources have no timeouts block).
	ephemeralOpenTimeout  = defaultCreateTimeout
	ephemeralCloseTimeout = defaultDeleteTimeout
	// privateTokenKey is the ephemeral private data key that carries the
	// token's ID (never its secret) from Open to Close.
	privateTokenKey = "token"
)

// ephemeralTokenResource implements the cmdop_fleet_token and
// cmdop_personal_token ephemeral resources: Open issues a short-lived token,
// Close revokes it. Neither its secret nor anything else reaches the state
// or a saved plan.
type ephemeralTokenResource struct {
	kind tokenKind
	data *providerData
}

var (
	_ ephemeral.EphemeralResource              = (*ephemeralTokenResource)(nil)
	_ ephemeral.EphemeralResourceWithConfigure = (*ephemeralTokenResource)(nil)
	_ ephemeral.EphemeralResourceWithClose     = (*ephemeralTokenResource)(nil)
)

// ephemeralTokenModel is the result of either ephemeral resource. Personal
// tokens have no fleet_id: they use the embedded model alone.
type ephemeralTokenModel struct {
	FleetID types.String `tfsdk:"fleet_id"`
	commonEphemeralTokenModel
}

type commonEphemeralTokenModel struct {
	ID        types.String      `tfsdk:"id"`
	Name      types.String      `tfsdk:"name"`
	Scopes    types.Set         `tfsdk:"scopes"`
	TTL       types.String      `tfsdk:"ttl"`
	Secret    types.String      `tfsdk:"secret"`
	KeyPrefix types.String      `tfsdk:"key_prefix"`
	ExpiresAt timetypes.RFC3339 `tfsdk:"expires_at"`
}

// ephemeralTokenRef is the private data Close needs: which token to revoke.
type ephemeralTokenRef struct {
	ID      string `json:"id"`
	FleetID string `json:"fleet_id,omitempty"`
}

func (r *ephemeralTokenResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.kind.typeSuffix
}

func (r *ephemeralTokenResource) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			MarkdownDescription: "The token's ID (a UUID).",
			Computed:            true,
		},
		"name": schema.StringAttribute{
			MarkdownDescription: "A name for the token, 1 to 100 characters, as the CMDOP console and the audit log show it. " +
				"Each Terraform run issues new tokens under this name.",
			Required:   true,
			Validators: nameValidators(),
		},
		"scopes": schema.SetAttribute{
			MarkdownDescription: "What the token may do: at least one of `" + strings.Join(cmdopapi.Scopes, "`, `") + "`. " +
				"They must be a subset of the scopes of the provider's own token.",
			Required:    true,
			ElementType: types.StringType,
			Validators:  scopesValidators(),
		},
		"ttl": schema.StringAttribute{
			MarkdownDescription: fmt.Sprintf("How long the token lives, from %s to %s, as a duration such as `\"90m\"` or `\"2h\"`; "+
				"default `\"%s\"`. It only bounds the token's life should the provider be killed (SIGKILL) before it can revoke the token: "+
				"the provider revokes it when the run ends, a failed or interrupted run included. The token expires `ttl` plus one minute after it is issued, by the API "+
				"server's clock: the API wants an expiry at least an hour ahead, and the minute absorbs the request's latency.",
				"`\"1h\"`", "`\"24h\"`", defaultEphemeralTTL),
			Optional:   true,
			Computed:   true,
			Validators: []validator.String{ephemeralTTLValidator{}},
		},
		"secret": schema.StringAttribute{
			MarkdownDescription: "The token itself (`cmdop_…`), for a provider configuration or a write-only argument. " +
				"Terraform never stores it in state or in a plan file.",
			Computed:  true,
			Sensitive: true,
		},
		"key_prefix": schema.StringAttribute{
			MarkdownDescription: "The first 12 characters of the secret, safe to show, to recognise the token in the CMDOP console.",
			Computed:            true,
		},
		"expires_at": schema.StringAttribute{
			MarkdownDescription: "When the token expires (RFC3339), by the API server's clock.",
			Computed:            true,
			CustomType:          timetypes.RFC3339Type{},
		},
	}
	owner := "the calling user's account"
	if r.kind.fleet {
		owner = "one fleet"
		attrs["fleet_id"] = schema.StringAttribute{
			MarkdownDescription: "The fleet the token belongs to. Defaults to the provider's `fleet_id` (or `CMDOP_FLEET_ID`); " +
				"one of the two must be set.",
			Optional:   true,
			Computed:   true,
			Validators: fleetIDValidators(),
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: fmt.Sprintf("Issues a short-lived CMDOP %s, which belongs to %s, for the length of one Terraform run, "+
			"and revokes it when the run ends. Nothing of it is written to state or to a plan file, so its secret can configure "+
			"another provider (an aliased `cmdop` provider, say) without ever being stored. Terraform opens an ephemeral resource "+
			"in every run that needs its values: during plan, and again during apply when the apply uses them, so one "+
			"`terraform apply` can issue, and revoke, two tokens. Needs Terraform 1.10 or later, or OpenTofu 1.11 or later.", r.kind.label, owner),
		Attributes: attrs,
	}
}

func (r *ephemeralTokenResource) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *ephemeralTokenResource) getModel(ctx context.Context, src getter, diags *diag.Diagnostics) *ephemeralTokenModel {
	var m ephemeralTokenModel
	diags.Append(src.Get(ctx, r.kind.target(&m, &m.commonEphemeralTokenModel))...)
	return &m
}

func (r *ephemeralTokenResource) setModel(ctx context.Context, dst setter, m *ephemeralTokenModel, diags *diag.Diagnostics) {
	diags.Append(dst.Set(ctx, r.kind.target(m, &m.commonEphemeralTokenModel))...)
}

func (r *ephemeralTokenResource) describe(name, id string) string {
	s := "ephemeral " + r.kind.label
	if name != "" {
		s += fmt.Sprintf(" %q", name)
	}
	if id != "" {
		s += " (" + id + ")"
	}
	return s
}

func (r *ephemeralTokenResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	ctx = cmdop.MaskSecrets(ctx)
	m := r.getModel(ctx, req.Config, &resp.Diagnostics)
	client := clientFrom(r.data, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	fleet, ok := r.data.resolveCollection(r.kind, &m.FleetID, "the ephemeral resource", &resp.Diagnostics)
	if !ok {
		return
	}
	if m.TTL.IsNull() {
		m.TTL = types.StringValue(defaultEphemeralTTL)
	}
	ttl, err := parseEphemeralTTL(m.TTL.ValueString())
	if err != nil { // the validator has reported it already, unless it was unknown then
		resp.Diagnostics.AddAttributeError(path.Root("ttl"), "Invalid ephemeral token ttl", "ttl: "+err.Error()+".")
		return
	}
	if r.ephemeralPolicyRefuses(ctx, m, ttl, &resp.Diagnostics) {
		return
	}
	in := cmdopapi.CreateTokenRequest{Name: m.Name.ValueString()}
	resp.Diagnostics.Append(m.Scopes.ElementsAs(ctx, &in.Scopes, false)...)
	if resp.Diagnostics.HasError() {
		return
	}

	ctx, cancel := context.WithTimeout(ctx, ephemeralOpenTimeout)
	defer cancel()
	tok, err := createEphemeralToken(ctx, client, fleet, in, ttl)
	if err != nil {
		resp.Diagnostics.Append(r.data.apiError("opening", r.describe(in.Name, ""), fleet, err))
		return
	}

	m.ID = types.StringValue(tok.ID)
	m.Secret = types.StringValue(tok.RawToken)
	m.KeyPrefix = types.StringValue(tok.KeyPrefix)
	m.ExpiresAt = timePtrValue(tok.ExpiresAt)
	ref, _ := json.Marshal(ephemeralTokenRef{ID: tok.ID, FleetID: fleet})
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateTokenKey, ref)...)
	r.setModel(ctx, &resp.Result, m, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		// Terraform will not call Close for a failed Open: revoke now, so
		// the token does not outlive the run.
		if err := revokeIfPresent(ctx, client.RevokeToken, fleet, tok.ID); err != nil {
			resp.Diagnostics.Append(r.data.apiError("revoking", r.describe(in.Name, tok.ID), fleet, err))
		}
		return
	}
	// Revoked by Close, or, should Terraform never call it (a failed
	// plan or apply), when the plugin stops.
	r.data.ephemeral.opened(client, fleet, tok.ID)
	tflog.Debug(ctx, "Opened an ephemeral CMDOP token", map[string]any{
		"token_id": tok.ID, "fleet_id": fleet, "expires_at": m.ExpiresAt.ValueString(),
	})
}

// createEphemeralToken issues a token that expires ttl (plus a margin) from
// now by the API server's clock. Before the provider's first call, the
// client knows only the local clock; if the API then rejects an expiry that
// its clock shows to be too soon, the token is asked for once more against
// the clock the rejection revealed. One idempotency key per attempt: the
// client's retries reuse it, so a lost response never mints twice, and a
// rejected attempt has minted nothing.
func createEphemeralToken(ctx context.Context, client *cmdop.Client, fleet string, in cmdopapi.CreateTokenRequest, ttl time.Duration) (*cmdopapi.Token, error) {
	expiry := func() *time.Time {
		at := client.ServerNow().Add(ttl + ephemeralExpiryMargin).Truncate(time.Second)
		return &at
	}
	in.ExpiresAt = expiry()
	tok, err := client.CreateToken(ctx, fleet, in, uuid.NewString())
	if errors.Is(err, cmdop.ErrValidation) && in.ExpiresAt.Sub(client.ServerNow()) < validators.MinCustomExpiryLead {
		in.ExpiresAt = expiry()
		tok, err = client.CreateToken(ctx, fleet, in, uuid.NewString())
	}
	return tok, err
}

func (r *ephemeralTokenResource) Close(ctx context.Context, req ephemeral.CloseRequest, resp *ephemeral.CloseResponse) {
	ctx = cmdop.MaskSecrets(ctx)
	raw, diags := req.Private.GetKey(ctx, privateTokenKey)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() || raw == nil {
		return
	}
	var ref ephemeralTokenRef
	if err := json.Unmarshal(raw, &ref); err != nil || ref.ID == "" {
		resp.Diagnostics.AddError("Error closing "+r.describe("", ""),
			fmt.Sprintf("The private data that names the token to revoke is unreadable (%v). This is a bug in the provider; "+
				"the token expires by itself at the end of its ttl.", err))
		return
	}
	client := clientFrom(r.data, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, ephemeralCloseTimeout)
	defer cancel()
	// Revoking a revoked token succeeds; a token that is gone needs nothing.
	if err := revokeIfPresent(ctx, client.RevokeToken, ref.FleetID, ref.ID); err != nil {
		resp.Diagnostics.Append(r.data.apiError("revoking", r.describe("", ref.ID), ref.FleetID, err))
		return
	}
	r.data.ephemeral.closed(ref.FleetID, ref.ID)
	tflog.Debug(ctx, "Closed an ephemeral CMDOP token", map[string]any{"token_id": ref.ID, "fleet_id": ref.FleetID})
}

// parseEphemeralTTL parses a ttl and checks it lies between 1h and 24h.
func parseEphemeralTTL(s string) (time.Duration, error) {
	d, err := validators.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < minEphemeralTTL || d > maxEphemeralTTL {
		return 0, fmt.Errorf("%q is outside the allowed range: an ephemeral token lives from 1h to 24h, such as \"1h\", \"90m\" or \"12h\"", s)
	}
	return d, nil
}

// ephemeralTTLValidator checks a ttl at validate time.
type ephemeralTTLValidator struct{}

func (ephemeralTTLValidator) Description(context.Context) string {
	return `value must be a duration from "1h" to "24h"`
}

func (v ephemeralTTLValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (ephemeralTTLValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := parseEphemeralTTL(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid ephemeral token ttl", fmt.Sprintf("%s: %s.", req.Path, err))
	}
}
