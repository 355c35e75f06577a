# Actions need Terraform 1.14+ (not OpenTofu); action_trigger needs 1.14.1.
#
# A secret leaked: revoke every fleet token of the provider's fleet named
# "ci-…" that was used since the leak, without waiting for a plan of the
# whole configuration:
#
#   terraform apply -invoke=action.cmdop_revoke_tokens.ci_leak
#
# Try it first with dry_run = true, which only reports what it would revoke.
action "cmdop_revoke_tokens" "ci_leak" {
  config {
    kind        = "fleet"
    name_prefix = "ci-"
    used_since  = "2026-11-30T18:00:00Z"
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
