# Revoke the leaked token now, without planning the whole configuration
# (Terraform 1.14 or later):
#
#   terraform apply -invoke=action.cmdop_revoke_tokens.leak -var dry_run=true
#   terraform apply -invoke=action.cmdop_revoke_tokens.leak
#
# The first run only reports what it would revoke. A key prefix that
# matches no token (a typo) fails the action, and nothing is revoked.
variable "dry_run" {
  type    = bool
  default = false
}

action "cmdop_revoke_tokens" "leak" {
  config {
    key_prefixes = [var.leaked_key_prefix]
    dry_run      = var.dry_run
  }
}

# When the leak is wider than one secret, say a CI system's environment,
# revoke every token that system's naming convention covers and that was
# used since the exposure.
action "cmdop_revoke_tokens" "ci_wide" {
  config {
    kind        = "fleet"
    name_prefix = "ci-"
    used_since  = var.leaked_at
    dry_run     = var.dry_run
  }
}
