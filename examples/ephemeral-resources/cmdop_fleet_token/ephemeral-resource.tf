# A fleet token for this run's own API calls (Terraform 1.10+ or OpenTofu
# 1.11+): issued when the run needs it, revoked when the run ends, and never
# written to state or to a plan file. The default provider issues it in its
# fleet_id (or CMDOP_FLEET_ID), so it must hold a personal token of a fleet
# owner or admin, or a fleet token of that fleet with permissions:manage.
#
# Listing tokens and reading the audit log need permissions:manage, so the
# short-lived token carries that scope alone. It is not meant to issue other
# tokens: a token never outlives the token that issued it, so whatever it
# issued would expire with it.
ephemeral "cmdop_fleet_token" "auditor" {
  name   = "terraform-auditor"
  scopes = ["permissions:manage"]
  ttl    = "1h"
}

# A second provider configuration that authenticates with the short-lived
# token instead of the long-lived credentials of the default provider.
provider "cmdop" {
  alias = "auditor"
  token = ephemeral.cmdop_fleet_token.auditor.secret
}

# What the run reads through it: the fleet's active CI tokens that nothing
# has used for 30 days.
data "cmdop_fleet_tokens" "idle_ci" {
  provider = cmdop.auditor

  name_prefix    = "ci-"
  status         = "active"
  unused_since   = timeadd(plantimestamp(), "-720h")
  created_before = timeadd(plantimestamp(), "-720h") # not the tokens made since
}

output "idle_ci_tokens" {
  value = [for t in data.cmdop_fleet_tokens.idle_ci.tokens : "${t.name} (${t.key_prefix}...)"]
}
