# After a rotation, check on every plan that the new token is in use and that
# nothing still presents the old one. A failed check is a warning; it does
# not block the apply.
#
# The audit events are read by an ordinary data source, not one inside the
# check block: Terraform reads a check block's own data source again during
# every apply, so every plan would list it as "will be read during apply"
# and `plan -detailed-exitcode` would never exit 0.
data "cmdop_audit_events" "ci_use" {
  fleet_id = cmdop_fleet_token.ci.fleet_id
  token_id = cmdop_fleet_token.ci.id
  actions  = ["token.used"]
  since    = timeadd(plantimestamp(), "-24h")
}

# This configuration's earlier tokens: those of the same name, which the API
# keeps, revoked or expired, after a rotation. (Token names are this
# check's only link to them: give each configuration's token its own name.)
data "cmdop_fleet_tokens" "ci_earlier" {
  fleet_id    = cmdop_fleet_token.ci.fleet_id
  name_prefix = cmdop_fleet_token.ci.name
}

# Failed authentications of this fleet in the last hour. The warning below
# counts only those of the earlier tokens, so it names no other
# configuration's tokens, and it clears an hour after the last consumer
# switched to the new secret.
data "cmdop_audit_events" "ci_failures" {
  fleet_id = cmdop_fleet_token.ci.fleet_id
  actions  = ["auth.failed"]
  since    = timeadd(plantimestamp(), "-1h")
}

locals {
  ci_earlier_ids = [
    for t in data.cmdop_fleet_tokens.ci_earlier.tokens : t.id
    if t.name == cmdop_fleet_token.ci.name && t.id != cmdop_fleet_token.ci.id
  ]
}

check "ci_token_rotation" {
  assert {
    condition     = length(data.cmdop_audit_events.ci_use.events) > 0
    error_message = "The CI token ${cmdop_fleet_token.ci.key_prefix}... has not been used in the last 24 hours: has the pipeline picked up the new secret?"
  }

  assert {
    condition = length([
      for e in data.cmdop_audit_events.ci_failures.events : e
      if contains(local.ci_earlier_ids, e.token_id)
    ]) == 0
    error_message = "In the last hour something presented a revoked or expired \"${cmdop_fleet_token.ci.name}\" token: a consumer may still hold the old secret. The events' request_id and source_ip tell which."
  }
}
