// Command floor is the benchmark's plugin floor: a terraform-plugin-framework
// provider whose one resource, floor_fleet_token, has exactly the schema of
// cmdop_fleet_token (provider.FleetTokenSchema: the same attributes,
// validators, defaults and plan modifiers) and does no I/O. Its CRUD only
// decodes what Terraform sends and encodes it back, filling the computed
// values on create. What a no-op plan of N of these costs is what any
// framework provider with our schema pays; cmdop's cost above it is ours.
//
// It runs on the framework as it is, without the retained-context
// workaround of internal/fwcompat/context_release.go, so that the bench
// shows what the workaround saves; FLOOR_RELEASE_CONTEXTS=1 in its
// environment (FLOOR_RELEASE_CONTEXTS=1 make bench) adds the workaround.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cmdop/terraform-provider-cmdop/internal/fwcompat"
	cmdop "github.com/cmdop/terraform-provider-cmdop/internal/provider"
)

func main() {
	debug := flag.Bool("debug", false, "run in debug mode (for bench/profile.sh)")
	flag.Parse()
	quietUnlessLogging()
	serve := providerserver.Serve
	if os.Getenv("FLOOR_RELEASE_CONTEXTS") != "" {
		serve = fwcompat.Serve // with the provider's workaround, for comparison
	}
	err := serve(context.Background(), func() provider.Provider { return floorProvider{} }, providerserver.ServeOpts{
		Address: "registry.terraform.io/cmdop/floor",
		Debug:   *debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}

// quietUnlessLogging is the provider's own (main.go): without it the floor
// would pay for formatting TRACE logs that cmdop does not.
func quietUnlessLogging() {
	levels := []string{"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"}
	for _, name := range levels {
		if os.Getenv(name) != "" {
			return
		}
	}
	for _, name := range levels[1:] {
		_ = os.Setenv(name, "off")
	}
}

type floorProvider struct{}

func (floorProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "floor"
}

func (floorProvider) Schema(context.Context, provider.SchemaRequest, *provider.SchemaResponse) {}

func (floorProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (floorProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

func (floorProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{func() resource.Resource { return &token{} }}
}

var _ provider.Provider = floorProvider{}

// token is floor_fleet_token.
type token struct{}

var _ resource.Resource = (*token)(nil)

func (*token) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_fleet_token"
}

func (*token) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = cmdop.FleetTokenSchema()
}

var serial atomic.Int64

// fill gives every unknown attribute of the planned object a value, as the
// API's answer would: timestamps for created_at and expires_at, null for the
// other timestamps, a unique string for the rest.
func fill(ctx context.Context, plan types.Object) (types.Object, diag.Diagnostics) {
	n := serial.Add(1)
	now := time.Now().UTC().Truncate(time.Second)
	attrs := plan.Attributes()
	for name, v := range attrs {
		if !v.IsUnknown() {
			continue
		}
		switch {
		case name == "created_at":
			attrs[name] = timetypes.NewRFC3339TimeValue(now)
		case name == "expires_at":
			attrs[name] = timetypes.NewRFC3339TimeValue(now.Add(90 * 24 * time.Hour))
		case strings.HasSuffix(name, "_at"):
			attrs[name] = timetypes.NewRFC3339Null()
		case name == "status":
			attrs[name] = types.StringValue("active")
		default:
			attrs[name] = types.StringValue(fmt.Sprintf("floor-%d-%s", n, name))
		}
	}
	return types.ObjectValue(plan.AttributeTypes(ctx), attrs)
}

// roundTrip decodes from and encodes to, as any resource decodes its model
// and sets its state, with fill applied in between if asked.
func roundTrip(ctx context.Context, get func(context.Context, any) diag.Diagnostics, to *tfsdk.State, withFill bool, diags *diag.Diagnostics) {
	var obj types.Object
	if diags.Append(get(ctx, &obj)...); diags.HasError() {
		return
	}
	if withFill {
		var ds diag.Diagnostics
		obj, ds = fill(ctx, obj)
		if diags.Append(ds...); diags.HasError() {
			return
		}
	}
	diags.Append(to.Set(ctx, obj)...)
}

func (*token) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	roundTrip(ctx, req.Plan.Get, &resp.State, true, &resp.Diagnostics)
}

func (*token) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	roundTrip(ctx, req.State.Get, &resp.State, false, &resp.Diagnostics)
}

func (*token) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	roundTrip(ctx, req.Plan.Get, &resp.State, true, &resp.Diagnostics)
}

func (*token) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}
