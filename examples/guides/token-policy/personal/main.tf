# Personal tokens: named dev-<user>-…, 30 days at most, rotated monthly,
# read-only; fleet tokens keep the top-level rules.
provider "cmdop" {
  token_policy {
    forbidden_scopes = ["permissions:manage"]

    personal {
      max_expiry        = "30d"
      require_rotation  = true
      name_pattern      = "^dev-[a-z]+-[a-z0-9-]+$"
      allowed_scopes    = ["machines:read", "files:read"]
      max_ephemeral_ttl = "8h"
    }
  }
}

resource "cmdop_personal_token" "laptop" {
  name              = "dev-alice-laptop"
  scopes            = ["machines:read", "files:read"]
  expiry            = "30d"
  rotation_triggers = { month = "2026-12" }
}
