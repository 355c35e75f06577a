# Actions need Terraform 1.14+ (not OpenTofu); action_trigger needs 1.14.1.
#
# A secret leaked: revoke every fleet token of the provider's fleet named
# "ci-…" that was used since the leak, without waiting for a plan of the
# whole configuration:
#
#   terraform apply -invoke=action.cmdop_revoke_tokens.ci_leak
#
# Try it first with -var dry_run=true, which only reports what it would
# revoke, then run it again without.
variable "dry_run" {
  type    = bool
  default = false
}

action "cmdop_revoke_tokens" "ci_leak" {
  config {
    kind        = "fleet"
    name_prefix = "ci-"
    used_since  = "2026-11-30T18:00:00Z"
    dry_run     = var.dry_run
  }
}

# By the leaked value itself, as a secret-scanning alert hands it over:
#
#   TF_VAR_leaked='["cmdop_…"]' terraform apply -invoke=action.cmdop_revoke_tokens.leaked
#
# A sensitive variable keeps the secret out of the CLI's output; the
# provider never prints or logs it.
variable "leaked" {
  type      = list(string)
  sensitive = true
  default   = null
}

action "cmdop_revoke_tokens" "leaked" {
  config {
    secrets = var.leaked
  }
}

# By the key prefix that the console and the audit log show. A prefix
# (or token ID, or secret) that matches no token fails the action before
# anything is revoked.
action "cmdop_revoke_tokens" "by_key_prefix" {
  config {
    key_prefixes = ["cmdop_1HPoJL"]
  }
}

# Named tokens, wherever Terraform manages them. Tokens that the action
# revokes and that are in a Terraform state are replaced by that
# configuration's next apply.
action "cmdop_revoke_tokens" "by_id" {
  config {
    token_ids = [cmdop_fleet_token.ci.id]
  }
}

resource "cmdop_fleet_token" "ci" {
  name   = "ci-agents"
  scopes = ["machines:read", "commands:execute"]
}

# Every personal token of the calling user, the provider's own included
# (revoked last): the provider then needs a new token.
action "cmdop_revoke_tokens" "all_personal" {
  config {
    kind         = "personal"
    all          = true
    include_self = true
  }
}

# A large, deliberate selection: raise the bound (default 20) rather than
# reach for all = true.
action "cmdop_revoke_tokens" "old_ci" {
  config {
    kind            = "fleet"
    name_prefix     = "ci-"
    created_before  = "2026-06-01T00:00:00Z"
    max_revocations = 200
  }
}

# Run an action when something is created: here, when an incident record
# is added to the configuration, the matching tokens are revoked.
resource "terraform_data" "incident_2026_12_01" {
  input = "CI secret posted in a public issue"

  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.cmdop_revoke_tokens.ci_leak]
    }
  }
}
