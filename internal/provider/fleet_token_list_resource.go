package provider

import "github.com/hashicorp/terraform-plugin-framework/list"

// NewFleetTokenListResource returns the cmdop_fleet_token list resource
// (terraform query). Its logic is shared with cmdop_personal_token's, in
// token_list_resource.go.
func NewFleetTokenListResource() list.ListResource {
	return &tokenListResource{kind: fleetToken}
}
