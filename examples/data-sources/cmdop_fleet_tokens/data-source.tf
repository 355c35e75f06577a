# Active tokens of the provider's fleet that nothing has used for 90 days:
# candidates for revocation.
data "cmdop_fleet_tokens" "stale" {
  status       = "active"
  unused_since = timeadd(plantimestamp(), "-2160h")
}

output "stale_fleet_tokens" {
  value = {
    for t in data.cmdop_fleet_tokens.stale.tokens :
    t.id => "${t.name} (${t.key_prefix}...), last used ${coalesce(t.last_used_at, "never")}"
  }
}

# Every CI token of another fleet, whatever its status.
data "cmdop_fleet_tokens" "staging_ci" {
  fleet_id    = "3d4c0d8e-5b8a-4f0e-9a51-2f7d1c6b9e10"
  name_prefix = "ci-"
}

output "staging_ci_token_status" {
  value = { for t in data.cmdop_fleet_tokens.staging_ci.tokens : t.id => t.status }
}
