package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// tokensDataSource implements cmdop_fleet_tokens (fleet_tokens_data_source.go)
// and cmdop_personal_tokens (personal_tokens_data_source.go),
// which list tokens (never their secrets) to find stale or leaked ones.
type tokensDataSource struct {
	kind tokenKind
	data *providerData
}

var _ datasource.DataSourceWithConfigure = (*tokensDataSource)(nil)

// tokensDataSourceModel is the state of either listing; personal listings have no
// fleet_id and are read through the embedded model alone.
type tokensDataSourceModel struct {
	FleetID types.String `tfsdk:"fleet_id"`
	commonTokensDataSourceModel
}

type commonTokensDataSourceModel struct {
	ID types.String `tfsdk:"id"`
	tokenFilterModel
	Tokens types.List `tfsdk:"tokens"`
}

func (d *tokensDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + d.kind.typeSuffix + "s"
}

// listedTokenAttrs describes one listed token; fleet or user ID per kind.
func (d *tokensDataSource) listedTokenAttrs() map[string]schema.Attribute {
	str := func(desc string) schema.Attribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	ts := func(desc string) schema.Attribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true, CustomType: timetypes.RFC3339Type{}}
	}
	attrs := map[string]schema.Attribute{
		"id":            str("The token's ID."),
		"name":          str("The token's name."),
		"key_prefix":    str("The first 12 characters of the secret."),
		"scopes":        schema.SetAttribute{MarkdownDescription: "The token's scopes.", Computed: true, ElementType: types.StringType},
		"created_at":    ts("When it was issued."),
		"expires_at":    ts("When it expires; null if never."),
		"last_used_at":  ts("When it last authenticated a call; null if never."),
		"revoked_at":    ts("When it was revoked; null if it was not."),
		"created_by_id": str("Who issued it: a user ID, or the ID of the fleet token that did."),
		"status":        str("`active`, `expired` or `revoked`."),
	}
	if d.kind.fleet {
		attrs["fleet_id"] = str("The fleet it belongs to.")
	} else {
		attrs["user_id"] = str("The user it belongs to.")
	}
	return attrs
}

func (d *tokensDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{MarkdownDescription: "A stable hash of the filters.", Computed: true},
		"tokens": schema.ListNestedAttribute{
			MarkdownDescription: "The matching tokens, oldest first, with every field except the secret, which the API never returns again.",
			Computed:            true,
			NestedObject:        schema.NestedAttributeObject{Attributes: d.listedTokenAttrs()},
		},
	}
	for name, a := range tokenFilterAttrs(
		func(desc string, v ...validator.String) schema.Attribute {
			return schema.StringAttribute{MarkdownDescription: desc, Optional: true, Validators: v}
		},
		func(desc string) schema.Attribute {
			return schema.StringAttribute{MarkdownDescription: desc, Optional: true, CustomType: timetypes.RFC3339Type{}}
		},
	) {
		attrs[name] = a
	}
	what := "the calling user's personal tokens"
	if d.kind.fleet {
		what = "a fleet's tokens"
		attrs["fleet_id"] = schema.StringAttribute{
			MarkdownDescription: "The fleet to list. Defaults to the provider's `fleet_id` (or `CMDOP_FLEET_ID`).",
			Optional:            true,
			Computed:            true,
			Validators:          fleetIDValidators(),
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Lists " + what + ", revoked and expired ones included, to find stale or leaked tokens. Never returns secrets.",
		Attributes:          attrs,
	}
}

func (d *tokensDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *tokensDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	ctx = cmdop.MaskSecrets(ctx)
	var m tokensDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, d.kind.target(&m, &m.commonTokensDataSourceModel))...)
	client := clientFrom(d.data, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	fleet, ok := d.data.resolveCollection(d.kind, &m.FleetID, "the data source", &resp.Diagnostics)
	if !ok {
		return
	}
	filter := m.filter(&resp.Diagnostics)

	all, err := client.ListAllTokens(ctx, fleet)
	if err != nil {
		resp.Diagnostics.Append(d.data.apiError("listing", d.kind.label+"s", fleet, err))
		return
	}
	attrTypes := d.listedTokenTypes()
	values := []types.Object{} // an empty list, never null, when nothing matches
	for i := range all {
		t := &all[i]
		if !filter.matches(t) {
			continue
		}
		values = append(values, d.listedToken(t, attrTypes, &resp.Diagnostics))
	}
	elemType := types.ObjectType{AttrTypes: attrTypes}
	list, diags := types.ListValueFrom(ctx, elemType, values)
	resp.Diagnostics.Append(diags...)
	m.Tokens = list
	m.ID = types.StringValue(hashOf(append([]any{d.kind.typeSuffix, fleet}, filter.hashKey()...)...))
	resp.Diagnostics.Append(resp.State.Set(ctx, d.kind.target(&m, &m.commonTokensDataSourceModel))...)
}

func (d *tokensDataSource) listedTokenTypes() map[string]attr.Type {
	out := map[string]attr.Type{}
	for name, a := range d.listedTokenAttrs() {
		out[name] = a.GetType()
	}
	return out
}

func (d *tokensDataSource) listedToken(t *cmdopapi.Token, attrTypes map[string]attr.Type, diags *diag.Diagnostics) types.Object {
	scopes, ds := types.SetValueFrom(context.Background(), types.StringType, t.Scopes)
	diags.Append(ds...)
	values := map[string]attr.Value{
		"id":            types.StringValue(t.ID),
		"name":          types.StringValue(t.Name),
		"key_prefix":    types.StringValue(t.KeyPrefix),
		"scopes":        scopes,
		"created_at":    timeValue(t.CreatedAt),
		"expires_at":    timePtrValue(t.ExpiresAt),
		"last_used_at":  timePtrValue(t.LastUsedAt),
		"revoked_at":    timePtrValue(t.RevokedAt),
		"created_by_id": optString(t.CreatedByID),
		"status":        types.StringValue(t.Status),
	}
	if d.kind.fleet {
		values["fleet_id"] = types.StringValue(t.FleetID)
	} else {
		values["user_id"] = types.StringValue(t.UserID)
	}
	obj, ds := types.ObjectValue(attrTypes, values)
	diags.Append(ds...)
	if ds.HasError() {
		diags.AddError("Internal error", fmt.Sprintf("building the listing of token %s", t.ID))
	}
	return obj
}
