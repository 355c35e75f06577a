package provider

import "github.com/hashicorp/terraform-plugin-framework/list"

// NewPersonalTokenListResource returns the cmdop_personal_token list
// resource (terraform query). Its logic is shared with cmdop_fleet_token's,
// in token_list_resource.go.
func NewPersonalTokenListResource() list.ListResource {
	return &tokenListResource{kind: personalToken}
}
