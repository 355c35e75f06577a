package provider

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/validators"
)

// tokenKind tells the fleet token and personal token resources apart. They
// share this schema and one implementation (token_resource.go).
type tokenKind struct {
	typeSuffix string // cmdop_<typeSuffix>
	label      string // "fleet token"
	fleet      bool
}

var (
	fleetToken    = tokenKind{typeSuffix: "fleet_token", label: "fleet token", fleet: true}
	personalToken = tokenKind{typeSuffix: "personal_token", label: "personal token"}
)

// Defaults of the token resources.
const (
	defaultExpiry            = "90d"
	defaultRevokeGracePeriod = "0s"
)

// tokenResourceModel is the state of either token resource: fleet tokens have a
// fleet_id, personal tokens an owner_id. Each is read and written through
// its kind's view (fleetTokenState, personalTokenState; see getModel).
type tokenResourceModel struct {
	FleetID types.String
	OwnerID types.String
	commonTokenModel
}

type fleetTokenState struct {
	FleetID types.String `tfsdk:"fleet_id"`
	commonTokenModel
}

type personalTokenState struct {
	OwnerID types.String `tfsdk:"owner_id"`
	commonTokenModel
}

type commonTokenModel struct {
	ID                types.String      `tfsdk:"id"`
	Name              types.String      `tfsdk:"name"`
	Scopes            types.Set         `tfsdk:"scopes"`
	Expiry            types.String      `tfsdk:"expiry"`
	RotateBefore      types.String      `tfsdk:"rotate_before"`
	RotationTriggers  types.Map         `tfsdk:"rotation_triggers"`
	RevokeGracePeriod types.String      `tfsdk:"revoke_grace_period"`
	Secret            types.String      `tfsdk:"secret"`
	KeyPrefix         types.String      `tfsdk:"key_prefix"`
	CreatedAt         timetypes.RFC3339 `tfsdk:"created_at"`
	ExpiresAt         timetypes.RFC3339 `tfsdk:"expires_at"`
	LastUsedAt        timetypes.RFC3339 `tfsdk:"last_used_at"`
	RevokedAt         timetypes.RFC3339 `tfsdk:"revoked_at"`
	Status            types.String      `tfsdk:"status"`
	Timeouts          timeouts.Value    `tfsdk:"timeouts"`
	// secret_delivery (token_resource_delivery.go)
	SecretDelivery    types.Object      `tfsdk:"secret_delivery"`
	SecretSHA256      types.String      `tfsdk:"secret_sha256"`
	SecretDeliveredAt timetypes.RFC3339 `tfsdk:"secret_delivered_at"`
}

// Terraform asks for a resource's schema on nearly every call, once per
// resource instance: build each once.
var (
	fleetTokenSchema    = sync.OnceValue(func() schema.Schema { return tokenSchema(context.Background(), fleetToken) })
	personalTokenSchema = sync.OnceValue(func() schema.Schema { return tokenSchema(context.Background(), personalToken) })
)

// target picks what to read or write a model through: the full model for
// fleet tokens, the part without fleet_id for personal ones.
func (k tokenKind) target(full, common any) any {
	if k.fleet {
		return full
	}
	return common
}

func (k tokenKind) resourceSchema() schema.Schema {
	if k.fleet {
		return fleetTokenSchema()
	}
	return personalTokenSchema()
}

func tokenSchema(ctx context.Context, kind tokenKind) schema.Schema {
	owner := "the calling user's account; it acts within the fleets that user belongs to, and is revoked when the user leaves"
	if kind.fleet {
		owner = "one fleet; it carries no personal data and survives member churn"
	}
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			MarkdownDescription: "The token's ID (a UUID).",
			Computed:            true,
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"name": schema.StringAttribute{
			MarkdownDescription: "A name for the token, 1 to 100 characters, not blank. Names need not be unique, which lets " +
				"`create_before_destroy` issue the replacement under the same name. Changing it replaces the token.",
			Required:      true,
			Validators:    nameValidators(),
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"scopes": schema.SetAttribute{
			MarkdownDescription: "What the token may do: at least one of `" + strings.Join(cmdopapi.Scopes, "`, `") + "`. " +
				"They must be a subset of the scopes of the provider's own token. Changing them replaces the token.",
			Required:      true,
			ElementType:   types.StringType,
			Validators:    scopesValidators(),
			PlanModifiers: []planmodifier.Set{setplanmodifier.RequiresReplace()},
		},
		"expiry": schema.StringAttribute{
			MarkdownDescription: "How long the token lives: `\"never\"`, `\"30d\"`, `\"90d\"`, `\"1y\"` (365 days), or an RFC3339 " +
				"timestamp at least one hour ahead such as `\"2030-01-02T15:04:05Z\"`. Default `\"" + defaultExpiry + "\"`. " +
				"Changing it replaces the token; a timestamp naming the same instant (another offset, a fraction) is no change. " +
				"After an import it is inferred from the token's `expires_at`.",
			Optional:   true,
			Computed:   true,
			Default:    stringdefault.StaticString(defaultExpiry),
			Validators: []validator.String{validators.ValidExpiry()},
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(expiryChanged,
				"Replaces the token when the expiry changes; the same instant in another form is no change.",
				"Replaces the token when the expiry changes; the same instant in another form is no change.")},
		},
		"rotate_before": schema.StringAttribute{
			MarkdownDescription: "Rotate the token this long before it expires, as a duration such as `\"168h\"` or `\"7d\"`. " +
				"Once the API server's clock is inside this window, the next plan replaces the token and says why in a warning. " +
				"Must be shorter than the token's lifetime, and needs a relative `expiry` (`\"30d\"`, `\"90d\"` or `\"1y\"`): a fixed date or `\"never\"` cannot be rotated this way. Changing it does not replace the token.",
			Optional:   true,
			Validators: []validator.String{validators.ValidDuration()},
		},
		"rotation_triggers": schema.MapAttribute{
			MarkdownDescription: "Arbitrary values that replace the token whenever any of them changes (the keepers pattern), " +
				"for example `{ period = time_rotating.monthly.id }`. Adding triggers to a token that had none, as after an import, " +
				"records them without replacing it.",
			Optional:      true,
			ElementType:   types.StringType,
			PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplaceIf(triggersChanged, "Replaces the token when a trigger changes.", "Replaces the token when a trigger changes.")},
		},
		"revoke_grace_period": schema.StringAttribute{
			MarkdownDescription: "On destroy or replacement, instead of revoking the old token at once, shorten its expiry to " +
				"now plus this duration, so that consumers can roll over to the new one. A duration such as `\"1h\"` or `\"2d\"`; " +
				"default `\"" + defaultRevokeGracePeriod + "\"` (revoke at once). At most `\"7d\"`, and shorter than the token's " +
				"lifetime when `expiry` is relative. Changing it only updates state.",
			Optional:   true,
			Computed:   true,
			Default:    stringdefault.StaticString(defaultRevokeGracePeriod),
			Validators: []validator.String{validators.ValidGracePeriod()},
		},
		"secret": schema.StringAttribute{
			MarkdownDescription: "The token itself (`cmdop_…`). The API shows it only once, when the token is issued, so it is " +
				"kept in state across refreshes. It is null after an import: run `terraform apply -replace` to issue a new one. " +
				"With `secret_delivery` it is null in state, in the plan and in every output: the secret goes to the sink instead.",
			Computed:      true,
			Sensitive:     true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"key_prefix": schema.StringAttribute{
			MarkdownDescription: "The first 12 characters of the secret, safe to show, to recognise the token in the CMDOP console.",
			Computed:            true,
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"created_at": schema.StringAttribute{
			MarkdownDescription: "When the token was issued (RFC3339).",
			Computed:            true,
			CustomType:          timetypes.RFC3339Type{},
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"expires_at": schema.StringAttribute{
			MarkdownDescription: "When the token expires (RFC3339); null for a token that never expires.",
			Computed:            true,
			CustomType:          timetypes.RFC3339Type{},
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"last_used_at": schema.StringAttribute{
			MarkdownDescription: "When the token last authenticated a call (RFC3339); null if never. Refreshed on every read.",
			Computed:            true,
			CustomType:          timetypes.RFC3339Type{},
		},
		"revoked_at": schema.StringAttribute{
			MarkdownDescription: "When the token was revoked (RFC3339); null while it is not. Refreshed on every read.",
			Computed:            true,
			CustomType:          timetypes.RFC3339Type{},
		},
		"status": schema.StringAttribute{
			MarkdownDescription: "`active`, `expired` or `revoked`, by the API server's clock. A token found revoked or expired " +
				"is replaced by the next apply.",
			Computed: true,
		},
	}
	if kind.fleet {
		attrs["fleet_id"] = schema.StringAttribute{
			MarkdownDescription: "The fleet the token belongs to. Defaults to the provider's `fleet_id` (or `CMDOP_FLEET_ID`) " +
				"when the token is created; one of the two must be set. An existing token keeps its fleet when this is not set, so " +
				"changing the provider's default moves nothing. Setting it to another fleet replaces the token, with a warning that " +
				"names both fleets. A fleet that does not exist, or that the provider's token cannot reach, fails the plan.",
			Optional:   true,
			Computed:   true,
			Validators: fleetIDValidators(),
		}
	} else {
		attrs["owner_id"] = schema.StringAttribute{
			MarkdownDescription: "The ID of the user who owns the token. The provider refuses to read, replace or revoke " +
				"it with another user's credentials. Optional: when set, it says in the configuration whose token this is " +
				"(`terraform query -generate-config-out` writes it), and a plan with another user's credentials fails before " +
				"anything is issued; it cannot change, since a token never changes owner. Left out, it is the calling user's.",
			Optional:      true,
			Computed:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		}
	}
	blocks := map[string]schema.Block{
		"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Read: true, Delete: true}),
	}
	addDeliverySchema(attrs, blocks) // token_resource_delivery.go
	return schema.Schema{
		MarkdownDescription: fmt.Sprintf("Issues a CMDOP %s, which belongs to %s. The secret is shown once, at creation, "+
			"and kept in state as a sensitive attribute, unless `secret_delivery` hands it straight to its consumer. Destroying the resource revokes the token (or, with "+
			"`revoke_grace_period`, lets it expire shortly after). See the rotation guide for zero-downtime rotation.", kind.label, owner),
		Attributes: attrs,
		Blocks:     blocks,
	}
}

// triggersChanged replaces the token when existing triggers change, but not
// when triggers are added to a token that had none (after an import, say).
func triggersChanged(_ context.Context, req planmodifier.MapRequest, resp *mapplanmodifier.RequiresReplaceIfFuncResponse) {
	resp.RequiresReplace = !req.StateValue.IsNull()
}

var _ resource.Resource = (*tokenResource)(nil)

// expiryChanged replaces the token unless the configured expiry means the
// same as the state's: an RFC3339 timestamp is compared by instant.
func expiryChanged(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
	resp.RequiresReplace = !sameExpiry(req.StateValue.ValueString(), req.PlanValue.ValueString())
}

// sameExpiry tells whether two expiry settings mean the same: the same
// preset, both "never", or timestamps naming the same instant.
func sameExpiry(a, b string) bool {
	if a == b {
		return true
	}
	ea, errA := validators.ParseExpiry(a)
	eb, errB := validators.ParseExpiry(b)
	if errA != nil || errB != nil || ea.Never || eb.Never || ea.Days > 0 || eb.Days > 0 {
		return false
	}
	return ea.At.Equal(eb.At)
}

// The attribute validators shared by the token resources, the ephemeral
// tokens and the listings.
