# After a rotation, check on every plan that the new token is in use and that
# nothing still presents the old one. A failed check is a warning; it does
# not block the apply.
check "ci_token_rotation" {
  data "cmdop_audit_events" "ci" {
    fleet_id = cmdop_fleet_token.ci.fleet_id
    actions  = ["token.used", "auth.failed"]
    since    = timeadd(plantimestamp(), "-24h")
  }

  assert {
    condition = anytrue([
      for e in data.cmdop_audit_events.ci.events :
      e.action == "token.used" && e.token_id == cmdop_fleet_token.ci.id
    ])
    error_message = "The CI token ${cmdop_fleet_token.ci.key_prefix}... has not been used in the last 24 hours: has the pipeline picked up the new secret?"
  }

  assert {
    condition = length([
      for e in data.cmdop_audit_events.ci.events : e if e.action == "auth.failed"
    ]) == 0
    error_message = "Something presented a revoked or expired token of this fleet in the last 24 hours: a consumer may still hold the old secret. The events' request_id and source_ip tell which."
  }
}
