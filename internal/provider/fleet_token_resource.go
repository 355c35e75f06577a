package provider

import "github.com/hashicorp/terraform-plugin-framework/resource"

// NewFleetTokenResource returns the cmdop_fleet_token resource. Its logic
// is shared with cmdop_personal_token, in token_resource.go.
func NewFleetTokenResource() resource.Resource {
	return &tokenResource{kind: fleetToken}
}
