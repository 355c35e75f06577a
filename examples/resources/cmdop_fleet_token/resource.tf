# A token for the fleet's CI agents (the fleet is the provider's fleet_id, or
# CMDOP_FLEET_ID). A week before it expires, the next plan replaces it; the
# replacement is issued first, and the old token keeps working for one more
# hour so that jobs already running can finish.
resource "cmdop_fleet_token" "ci" {
  name                = "ci-agents"
  scopes              = ["machines:read", "commands:execute", "files:read"]
  expiry              = "30d"
  rotate_before       = "7d"
  revoke_grace_period = "1h"

  lifecycle {
    create_before_destroy = true
  }
}

# A read-only token in another fleet that never expires, replaced on the
# first plan of every quarter instead.
resource "cmdop_fleet_token" "dashboard" {
  fleet_id = var.staging_fleet_id
  name     = "status-dashboard"
  scopes   = ["machines:read"]
  expiry   = "never"

  rotation_triggers = {
    quarter = "${formatdate("YYYY", plantimestamp())}-Q${ceil(tonumber(formatdate("M", plantimestamp())) / 3)}"
  }
}

output "ci_token_key_prefix" {
  description = "Safe to show: recognises the token in the CMDOP console."
  value       = cmdop_fleet_token.ci.key_prefix
}

# The other fleet's ID (examples/cmdop-local.tfvars sets one for cmdop-local).
variable "staging_fleet_id" {
  type = string
}
