# After the revocation: the audit log records it (the request IDs match the
# action's summary), and any later use of the secret is an auth.failed
# event, which shows who still holds it.
data "cmdop_audit_events" "after" {
  for_each = { for t in local.leaked : t.id => t }

  token_id = each.key
  actions  = ["token.revoked", "auth.failed"]
  since    = var.leaked_at
}

output "after_revocation" {
  value = {
    for id, d in data.cmdop_audit_events.after : id => [
      for e in d.events : "${e.time} ${e.action} by ${e.actor_type}:${e.actor_id} from ${e.source_ip} (request ${e.request_id})"
    ]
  }
}
