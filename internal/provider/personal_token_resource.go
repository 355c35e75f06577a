package provider

import "github.com/hashicorp/terraform-plugin-framework/resource"

// NewPersonalTokenResource returns the cmdop_personal_token resource. Its
// logic is shared with cmdop_fleet_token, in token_resource.go.
func NewPersonalTokenResource() resource.Resource {
	return &tokenResource{kind: personalToken}
}
