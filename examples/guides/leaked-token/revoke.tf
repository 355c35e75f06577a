# Terraform 1.14+ only (not OpenTofu): leave this file out with an older
# Terraform or OpenTofu, which reject the action block ("Unsupported block
# type"), and revoke as step 2 says for them.
#
# Revoke the leaked token now, without planning the whole configuration:
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
