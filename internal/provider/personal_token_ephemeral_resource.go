package provider

import "github.com/hashicorp/terraform-plugin-framework/ephemeral"

// NewPersonalTokenEphemeralResource returns the cmdop_personal_token
// ephemeral resource. Its logic is shared with the cmdop_fleet_token
// ephemeral resource, in token_ephemeral_resource.go.
func NewPersonalTokenEphemeralResource() ephemeral.EphemeralResource {
	return &ephemeralTokenResource{kind: personalToken}
}
