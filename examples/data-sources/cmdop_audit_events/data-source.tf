# Revocations and shortened expiries in another fleet over the last 7 days.
data "cmdop_audit_events" "revocations" {
  fleet_id    = var.staging_fleet_id
  actions     = ["token.revoked", "token.expiry_shortened"]
  since       = timeadd(plantimestamp(), "-168h")
  max_results = 50
}

output "recent_revocations" {
  value = [
    for e in data.cmdop_audit_events.revocations.events :
    "${e.time} ${e.action} token=${e.token_id} by ${e.actor_type}:${e.actor_id} (request ${e.request_id})"
  ]
}

# Has anything presented a revoked or expired token in the last hour?
data "cmdop_audit_events" "auth_failures" {
  actions = ["auth.failed"]
  since   = timeadd(plantimestamp(), "-1h")
}

output "auth_failures_last_hour" {
  value = {
    count     = length(data.cmdop_audit_events.auth_failures.events)
    truncated = data.cmdop_audit_events.auth_failures.truncated
    latest    = data.cmdop_audit_events.auth_failures.latest_time
  }
}

# The other fleet's ID (examples/cmdop-local.tfvars sets one for cmdop-local).
variable "staging_fleet_id" {
  type = string
}
