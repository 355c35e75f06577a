# Active tokens of the provider's fleet that nothing has used for 90 days:
# candidates for revocation.
data "cmdop_fleet_tokens" "stale" {
  status         = "active"
  unused_since   = timeadd(plantimestamp(), "-2160h")
  created_before = timeadd(plantimestamp(), "-2160h") # not the tokens made since
}

output "stale_fleet_tokens" {
  value = {
    for t in data.cmdop_fleet_tokens.stale.tokens :
    t.id => "${t.name} (${t.key_prefix}...), last used ${coalesce(t.last_used_at, "never")}"
  }
}

# Every CI token of another fleet, whatever its status.
data "cmdop_fleet_tokens" "staging_ci" {
  fleet_id    = var.staging_fleet_id
  name_prefix = "ci-"
}

output "staging_ci_token_status" {
  value = { for t in data.cmdop_fleet_tokens.staging_ci.tokens : t.id => t.status }
}

# The other fleet's ID (examples/cmdop-local.tfvars sets one for cmdop-local).
variable "staging_fleet_id" {
  type = string
}
