package provider

import "github.com/hashicorp/terraform-plugin-framework/ephemeral"

// NewFleetTokenEphemeralResource returns the cmdop_fleet_token ephemeral
// resource. Its logic is shared with the cmdop_personal_token ephemeral
// resource, in token_ephemeral_resource.go.
func NewFleetTokenEphemeralResource() ephemeral.EphemeralResource {
	return &ephemeralTokenResource{kind: fleetToken}
}
