# Terraform 1.16 or later (not OpenTofu): revoke a fleet's tokens when the configuration
# that manages the fleet's consumers is destroyed. before_destroy revokes
# them before the consumers go; after_destroy would revoke them after.
resource "terraform_data" "fleet_consumers" {
  input = "the machines that use the fleet's tokens"

  lifecycle {
    action_trigger {
      events  = [before_destroy]
      actions = [action.cmdop_revoke_tokens.consumers]
    }
  }
}

action "cmdop_revoke_tokens" "consumers" {
  config {
    kind        = "fleet"
    name_prefix = "consumer-"
  }
}

# on_failure decides what a failed revocation does to the apply: halt (the
# default) stops it, so nothing that depends on the resource is applied;
# continue turns the action's errors into warnings and goes on. A full
# `terraform destroy` never stops for a destroy-time action: its errors
# are warnings.
resource "terraform_data" "incident" {
  input = "CI secret posted in a public issue"

  lifecycle {
    action_trigger {
      events     = [after_create]
      actions    = [action.cmdop_revoke_tokens.incident]
      on_failure = halt
    }
  }
}

action "cmdop_revoke_tokens" "incident" {
  config {
    kind        = "fleet"
    name_prefix = "ci-"
  }
}
