# Terraform 1.14+ only (not OpenTofu): leave this file out with an older
# Terraform or OpenTofu, which reject the action block ("Unsupported block
# type"), and revoke as step 2 says for them.
#
# Revoke the leaked token now, without planning the whole configuration:
#
#   terraform apply -invoke=action.cmdop_revoke_tokens.leak
#
# (run it once with dry_run = true to see what it would revoke).
action "cmdop_revoke_tokens" "leak" {
  config {
    token_ids = [for t in local.leaked : t.id]
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
  }
}
