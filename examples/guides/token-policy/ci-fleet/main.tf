# A CI fleet: every token a pipeline issues is named ci-…, rotates, lives
# at most 90 days, keeps working at most an hour after its replacement, and
# holds only the scopes a deployment needs.
provider "cmdop" {
  token_policy {
    max_expiry        = "90d"
    require_rotation  = true
    forbidden_scopes  = ["permissions:manage"]
    name_pattern      = "^ci-[a-z0-9-]+$"
    max_grace_period  = "1h"
    max_ephemeral_ttl = "4h"

    fleet {
      allowed_scopes = ["machines:read", "commands:execute", "files:read"]
    }
  }
}

resource "cmdop_fleet_token" "deploy" {
  name                = "ci-deploy"
  scopes              = ["machines:read", "commands:execute"]
  expiry              = "90d"
  rotate_before       = "14d"
  revoke_grace_period = "1h"
}
