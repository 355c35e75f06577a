package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	listschema "github.com/hashicorp/terraform-plugin-framework/list/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// tokenListResource implements the cmdop_fleet_token and
// cmdop_personal_token list resources (Terraform 1.14+): `terraform query`
// finds tokens, those issued in the CMDOP console or orphaned by an
// interrupted apply included, and `-generate-config-out` writes the
// resource and `import { identity = … }` blocks that adopt them.
type tokenListResource struct {
	kind tokenKind
	data *providerData
}

var (
	_ list.ListResourceWithConfigure = (*tokenListResource)(nil)
)

// tokenListModel is a list block's config; personal listings have no
// fleet_id and are read through the embedded filter alone.
type tokenListModel struct {
	FleetID types.String `tfsdk:"fleet_id"`
	tokenListCommon
}

// tokenListCommon is the config both list resources share.
type tokenListCommon struct {
	IncludeSelf types.Bool `tfsdk:"include_self"`
	tokenFilterModel
}

func (l *tokenListResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + l.kind.typeSuffix // the managed resource's name
}

func (l *tokenListResource) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	attrs := tokenFilterAttrs(
		func(desc string, v ...validator.String) listschema.Attribute {
			return listschema.StringAttribute{MarkdownDescription: desc, Optional: true, Validators: v}
		},
		func(desc string) listschema.Attribute {
			return listschema.StringAttribute{MarkdownDescription: desc, Optional: true, CustomType: timetypes.RFC3339Type{}}
		},
	)
	attrs["include_self"] = listschema.BoolAttribute{
		MarkdownDescription: "Also list the token the provider authenticates with. By default it is left out, so that " +
			"`-generate-config-out` never adopts it (a later `destroy` would revoke the credential the run is using), as " +
			"`cmdop_revoke_tokens` leaves it out unless its `include_self` is set.",
		Optional: true,
	}
	what := "the calling user's personal tokens"
	if l.kind.fleet {
		what = "a fleet's tokens"
		attrs["fleet_id"] = listschema.StringAttribute{
			MarkdownDescription: "The fleet to list. Defaults to the provider's `fleet_id` (or `CMDOP_FLEET_ID`).",
			Optional:            true,
			Validators:          fleetIDValidators(),
		}
	}
	resp.Schema = listschema.Schema{
		MarkdownDescription: "Finds " + what + " for `terraform query` (Terraform 1.14 or later), with the same filters as the `cmdop_" +
			l.kind.typeSuffix + "s` data source. Each result carries the token's identity and, as its display name, its name and key " +
			"prefix; with `include_resource = true` also the full resource, whose `secret` is null (the API never shows a secret twice). " +
			"`terraform query -generate-config-out=adopt.tf` writes the `resource` and `import` blocks that bring the tokens under Terraform.",
		Attributes: attrs,
	}
}

func (l *tokenListResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	l.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (l *tokenListResource) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	ctx = cmdop.MaskSecrets(ctx)
	var diags diag.Diagnostics
	var m tokenListModel
	diags.Append(req.Config.Get(ctx, l.kind.target(&m, &m.tokenListCommon))...)
	client := clientFrom(l.data, &diags)
	if diags.HasError() {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	fleet, _ := l.data.resolveCollection(l.kind, &m.FleetID, "the list block's config", &diags) // reported in diags
	filter := m.filter(&diags)
	if diags.HasError() {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	// The provider's own token is left out unless include_self: adopting
	// it would let a later destroy revoke the credential the run is using.
	includeSelf := m.IncludeSelf.ValueBool()
	selfID := ""
	if !includeSelf {
		acct, err := l.data.account(ctx)
		if err != nil {
			diags.AddError("Error identifying the provider's own token for the "+l.kind.label+" list",
				"The list leaves out the token the provider authenticates with unless include_self = true, but it could not ask "+
					"the CMDOP API which token that is. Run the query again, or set include_self = true in the list block's config.\n\n"+
					cmdopapi.Redact(err.Error()))
			stream.Results = list.ListResultsStreamDiagnostics(diags)
			return
		}
		selfID = acct.TokenID
	}
	stream.Results = func(push func(list.ListResult) bool) {
		sent := int64(0)
		for offset := 0; ; {
			page, err := client.ListTokens(ctx, fleet, offset, cmdop.MaxPerPage)
			if err != nil {
				push(list.ListResult{Diagnostics: diag.Diagnostics{l.data.apiError("listing", l.kind.label+"s", fleet, err)}})
				return
			}
			for i := range page.Items {
				if !filter.matches(&page.Items[i]) || (selfID != "" && strings.EqualFold(page.Items[i].ID, selfID)) {
					continue
				}
				if !push(l.result(ctx, req, &page.Items[i])) {
					return
				}
				if sent++; req.Limit > 0 && sent >= req.Limit {
					return // no further page is read
				}
			}
			offset += len(page.Items)
			if len(page.Items) == 0 || offset >= page.Total {
				return
			}
		}
	}
}

// result is one listed token: its identity, a display name, and with
// include_resource the state an import of it would produce.
func (l *tokenListResource) result(ctx context.Context, req list.ListRequest, t *cmdopapi.Token) list.ListResult {
	res := req.NewListResult(ctx)
	res.DisplayName = fmt.Sprintf("%s (%s)", t.Name, t.KeyPrefix)
	res.Diagnostics.Append(setTokenIdentity(ctx, res.Identity, l.kind, t.FleetID, t.ID)...)
	if req.IncludeResource {
		m := l.importedModel(ctx, t, &res.Diagnostics)
		(&tokenResource{kind: l.kind}).setModel(ctx, res.Resource, m, &res.Diagnostics) // the resource's own view of its state
	}
	return res
}

// importedModel is the resource state that importing t gives, the same as
// Read builds after an import: expiry inferred from expires_at, the default
// revoke_grace_period, no secret, and nothing that lives in state alone.
func (l *tokenListResource) importedModel(ctx context.Context, t *cmdopapi.Token, diags *diag.Diagnostics) *tokenResourceModel {
	m := &tokenResourceModel{FleetID: types.StringNull(), OwnerID: types.StringNull()}
	m.applyToken(t)
	m.Secret = types.StringNull()
	m.Expiry = types.StringValue(inferExpiry(t))
	m.RevokeGracePeriod = types.StringValue(defaultRevokeGracePeriod)
	m.RotateBefore = types.StringNull()
	m.RotationTriggers = types.MapNull(types.StringType)
	m.Timeouts = nullTimeouts(ctx, l.kind, diags)
	return m
}

// nullTimeouts is a null timeouts block of the resource's schema.
func nullTimeouts(ctx context.Context, kind tokenKind, diags *diag.Diagnostics) timeouts.Value {
	typ := kind.resourceSchema().Blocks["timeouts"].Type()
	v, err := typ.ValueFromTerraform(ctx, tftypes.NewValue(typ.TerraformType(ctx), nil))
	tv, ok := v.(timeouts.Value)
	if err != nil || !ok {
		diags.AddError("Internal error", fmt.Sprintf("building a null timeouts block: %v (%T). This is a bug in the provider.", err, v))
	}
	return tv
}
