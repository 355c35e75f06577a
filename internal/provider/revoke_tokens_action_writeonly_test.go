package provider_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Canary: cmdop_revoke_tokens' secrets is a plain list, not write-only,
// because terraform-plugin-framework v1.19.0 refuses every write-only
// action argument that has a value ("WriteOnly Attribute Not Allowed":
// ValidateActionConfig passes WriteOnlyAttributesAllowed = false whatever
// the client supports). This test fails on the day the framework accepts
// one: then make secrets write-only.
func TestFrameworkRefusesWriteOnlyActionArguments(t *testing.T) {
	srv, ok := providerserver.NewProtocol6(&woProvider{})().(tfprotov6.ProviderServerWithActions) //nolint:staticcheck // the actions RPCs still live there
	if !ok {
		t.Fatal("the framework's server has no action RPCs")
	}
	typ := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"secret": tftypes.List{ElementType: tftypes.String}}}
	cfg, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, map[string]tftypes.Value{
		"secret": tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{tftypes.NewValue(tftypes.String, "x")}),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{}); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.ValidateActionConfig(context.Background(), &tfprotov6.ValidateActionConfigRequest{ActionType: "wo_probe", Config: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		if strings.Contains(d.Summary, "WriteOnly Attribute Not Allowed") {
			return // still refused: secrets stays a plain list
		}
	}
	t.Fatalf("the framework now accepts a write-only action argument (diagnostics: %+v): make cmdop_revoke_tokens' secrets write-only", resp.Diagnostics)
}

type woProvider struct{}

func (*woProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "wo"
}
func (*woProvider) Schema(context.Context, provider.SchemaRequest, *provider.SchemaResponse) {}
func (*woProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}
func (*woProvider) Resources(context.Context) []func() resource.Resource       { return nil }
func (*woProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }
func (*woProvider) Actions(context.Context) []func() action.Action {
	return []func() action.Action{func() action.Action { return woAction{} }}
}

type woAction struct{}

func (woAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_probe"
}

func (woAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = schema.Schema{Attributes: map[string]schema.Attribute{
		"secret": schema.ListAttribute{Optional: true, WriteOnly: true, ElementType: types.StringType},
	}}
}

func (woAction) Invoke(context.Context, action.InvokeRequest, *action.InvokeResponse) {}
