package fwcompat

import (
	"context"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The test models are shaped like the provider's token models (its
// fleetTokenState, personalTokenState and tokenResourceModel: the same
// number of fields, of the same types, so that the benchmarks measure what
// the provider pays): a struct embedded with its fields promoted, strings,
// a set, a map, a nested object, RFC 3339 times and a timeouts block.
type commonModel struct {
	ID           types.String      `tfsdk:"id"`
	Name         types.String      `tfsdk:"name"`
	Scopes       types.Set         `tfsdk:"scopes"`
	Expiry       types.String      `tfsdk:"expiry"`
	RotateBefore types.String      `tfsdk:"rotate_before"`
	Triggers     types.Map         `tfsdk:"triggers"`
	GracePeriod  types.String      `tfsdk:"grace_period"`
	Secret       types.String      `tfsdk:"secret"`
	KeyPrefix    types.String      `tfsdk:"key_prefix"`
	CreatedAt    timetypes.RFC3339 `tfsdk:"created_at"`
	ExpiresAt    timetypes.RFC3339 `tfsdk:"expires_at"`
	LastUsedAt   timetypes.RFC3339 `tfsdk:"last_used_at"`
	RevokedAt    timetypes.RFC3339 `tfsdk:"revoked_at"`
	Status       types.String      `tfsdk:"status"`
	Timeouts     timeouts.Value    `tfsdk:"timeouts"`
	Delivery     types.Object      `tfsdk:"delivery"`
	SecretSHA256 types.String      `tfsdk:"secret_sha256"`
	SecretSentAt timetypes.RFC3339 `tfsdk:"secret_sent_at"`
}

// fleetModel fits testSchema.
type fleetModel struct {
	FleetID types.String `tfsdk:"fleet_id"`
	commonModel
}

// ownerModel lacks fleet_id and has an attribute the schema does not.
type ownerModel struct {
	OwnerID types.String `tfsdk:"owner_id"`
	commonModel
}

// eitherModel is the in-memory union of the two, without tags.
type eitherModel struct {
	FleetID types.String
	OwnerID types.String
	commonModel
}

var deliveryAttrTypes = map[string]attr.Type{"command": types.StringType}

var testSchema = sync.OnceValue(func() rschema.Schema {
	rfc3339 := func() rschema.StringAttribute {
		return rschema.StringAttribute{CustomType: timetypes.RFC3339Type{}, Computed: true}
	}
	return rschema.Schema{
		Attributes: map[string]rschema.Attribute{
			"fleet_id":       rschema.StringAttribute{Required: true},
			"id":             rschema.StringAttribute{Computed: true},
			"name":           rschema.StringAttribute{Required: true},
			"scopes":         rschema.SetAttribute{ElementType: types.StringType, Required: true},
			"expiry":         rschema.StringAttribute{Optional: true},
			"rotate_before":  rschema.StringAttribute{Optional: true},
			"triggers":       rschema.MapAttribute{ElementType: types.StringType, Optional: true},
			"grace_period":   rschema.StringAttribute{Optional: true},
			"secret":         rschema.StringAttribute{Computed: true, Sensitive: true},
			"key_prefix":     rschema.StringAttribute{Computed: true},
			"created_at":     rfc3339(),
			"expires_at":     rfc3339(),
			"last_used_at":   rfc3339(),
			"revoked_at":     rfc3339(),
			"status":         rschema.StringAttribute{Computed: true},
			"secret_sha256":  rschema.StringAttribute{Computed: true},
			"secret_sent_at": rfc3339(),
			"delivery": rschema.SingleNestedAttribute{Optional: true, Attributes: map[string]rschema.Attribute{
				"command": rschema.StringAttribute{Required: true},
			}},
		},
		Blocks: map[string]rschema.Block{
			"timeouts": timeouts.Block(context.Background(), timeouts.Opts{Create: true, Delete: true}),
		},
	}
})
