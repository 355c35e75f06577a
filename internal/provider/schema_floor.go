package provider

import "github.com/hashicorp/terraform-plugin-framework/resource/schema"

// FleetTokenSchema returns cmdop_fleet_token's schema, validators and plan
// modifiers included. The benchmark's plugin floor (bench/floor) serves a
// resource with exactly this schema and no I/O, so that the two cannot
// drift apart.
func FleetTokenSchema() schema.Schema { return fleetTokenSchema() }
