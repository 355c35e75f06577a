package provider

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Resource identity (Terraform 1.12+, OpenTofu 1.12+): what names a token
// across state, `import { identity = … }` blocks and `terraform query`
// results. A fleet token is {fleet_id, id}, a personal token {id}.
// Create, Read, Update and ImportState set it (token_resource.go); older
// CLIs simply drop it.

var _ resource.ResourceWithIdentity = (*tokenResource)(nil)

// tokenIdentityModel is a fleet token's identity; a personal token's is
// the embedded part alone (see tokenKind.target).
type tokenIdentityModel struct {
	FleetID types.String `tfsdk:"fleet_id"`
	commonTokenIdentityModel
}

type commonTokenIdentityModel struct {
	ID types.String `tfsdk:"id"`
}

func (r *tokenResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = r.kind.identitySchema()
}

func (k tokenKind) identitySchema() identityschema.Schema {
	attrs := map[string]identityschema.Attribute{
		"id": identityschema.StringAttribute{
			RequiredForImport: true,
			Description:       "The token's ID (a UUID).",
		},
	}
	if k.fleet {
		attrs["fleet_id"] = identityschema.StringAttribute{
			RequiredForImport: true,
			Description:       "The fleet the token belongs to.",
		}
	}
	return identityschema.Schema{Attributes: attrs}
}

// setIdentity records the identity of the token that m describes. dst is
// nil only for a resource without identity support, never here; the nil
// check keeps a framework change from turning into a panic.
func (r *tokenResource) setIdentity(ctx context.Context, dst *tfsdk.ResourceIdentity, m *tokenResourceModel, diags *diag.Diagnostics) {
	diags.Append(setTokenIdentity(ctx, dst, r.kind, m.FleetID.ValueString(), m.ID.ValueString())...)
}

// setTokenIdentity writes a token's identity; fleetID is ignored for
// personal tokens.
func setTokenIdentity(ctx context.Context, dst *tfsdk.ResourceIdentity, kind tokenKind, fleetID, id string) diag.Diagnostics {
	if dst == nil {
		return nil
	}
	idm := tokenIdentityModel{FleetID: types.StringValue(fleetID), commonTokenIdentityModel: commonTokenIdentityModel{ID: types.StringValue(id)}}
	return dst.Set(ctx, kind.target(&idm, &idm.commonTokenIdentityModel))
}

// importByIdentity imports from an `import { identity = { … } }` block: it
// checks the identity, then sets the state's id (and fleet_id), exactly as
// an import by ID does, so the Read that follows infers expiry the same way
// and a matching configuration plans no change.
func (r *tokenResource) importByIdentity(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	var idm tokenIdentityModel
	resp.Diagnostics.Append(req.Identity.Get(ctx, r.kind.target(&idm, &idm.commonTokenIdentityModel))...)
	if resp.Diagnostics.HasError() {
		return
	}
	fleetID, tokenID, err := parseImportIdentity(r.kind, idm.FleetID.ValueString(), idm.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Invalid import identity for cmdop_%s", r.kind.typeSuffix), err.Error())
		return
	}
	r.importToken(ctx, resp, fleetID, tokenID)
}

// parseImportIdentity checks an identity's values as parseImportID checks
// an import ID, and returns them canonical (the token ID in lower case).
func parseImportIdentity(kind tokenKind, fleetID, tokenID string) (string, string, error) {
	example := `identity = { id = "<token_id>" }`
	if kind.fleet {
		example = `identity = { fleet_id = "<fleet_id>", id = "<token_id>" }`
	}
	if kind.fleet && !cmdopapi.FleetIDPattern.MatchString(fleetID) {
		return "", "", fmt.Errorf("the identity's fleet_id %q is not a fleet ID. Write the import block as: %s", fleetID, example)
	}
	u, err := uuid.Parse(tokenID)
	if err != nil || len(tokenID) != len(u.String()) {
		return "", "", fmt.Errorf("the identity's id %q is not a token ID (a UUID). Write the import block as: %s", tokenID, example)
	}
	if !kind.fleet {
		fleetID = ""
	}
	return fleetID, u.String(), nil
}
