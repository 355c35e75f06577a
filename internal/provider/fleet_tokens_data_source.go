package provider

import "github.com/hashicorp/terraform-plugin-framework/datasource"

// NewFleetTokensDataSource returns the cmdop_fleet_tokens data source. Its
// logic is shared with cmdop_personal_tokens, in tokens_data_source.go.
func NewFleetTokensDataSource() datasource.DataSource { return &tokensDataSource{kind: fleetToken} }
