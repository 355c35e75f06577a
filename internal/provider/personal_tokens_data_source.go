package provider

import "github.com/hashicorp/terraform-plugin-framework/datasource"

// NewPersonalTokensDataSource returns the cmdop_personal_tokens data source.
// Its logic is shared with cmdop_fleet_tokens, in tokens_data_source.go.
func NewPersonalTokensDataSource() datasource.DataSource {
	return &tokensDataSource{kind: personalToken}
}
