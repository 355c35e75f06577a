# A fleet token that exists only while Terraform runs: issued when the run
# needs it, revoked when the run ends, and never written to state or to a
# plan file. (Terraform 1.10+ or OpenTofu 1.11+.) The default provider issues
# it in its fleet_id (or CMDOP_FLEET_ID), so it must hold a personal token of a
# fleet owner or admin, or a fleet token of that fleet with permissions:manage.
ephemeral "cmdop_fleet_token" "deployer" {
  name   = "terraform-deployer"
  scopes = ["permissions:manage", "machines:read", "commands:execute"]
  ttl    = "2h"
}

# A second provider configuration that authenticates with the short-lived
# token instead of the long-lived credentials of the default provider.
provider "cmdop" {
  alias = "deployer"
  token = ephemeral.cmdop_fleet_token.deployer.secret
}

# Managed through that configuration: the fleet's CI token. Its scopes must
# be a subset of the deployer token's.
resource "cmdop_fleet_token" "ci" {
  provider = cmdop.deployer

  name   = "ci-agents"
  scopes = ["machines:read", "commands:execute"]
  expiry = "30d"
}
