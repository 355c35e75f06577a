# Revocations and shortened expiries in a fleet over the last 7 days.
data "cmdop_audit_events" "revocations" {
  fleet_id    = "3d4c0d8e-5b8a-4f0e-9a51-2f7d1c6b9e10"
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
