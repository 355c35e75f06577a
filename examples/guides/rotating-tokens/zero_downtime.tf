# Zero-downtime rotation: the replacement is issued before the old token is
# touched, and the old token is not revoked but expires 2 hours later, so
# every consumer has time to pick up the new secret.
resource "cmdop_fleet_token" "ci" {
  name                = "ci"
  scopes              = ["machines:read", "commands:execute"]
  expiry              = "90d"
  rotate_before       = "14d"
  revoke_grace_period = "2h"

  lifecycle {
    create_before_destroy = true
  }
}
