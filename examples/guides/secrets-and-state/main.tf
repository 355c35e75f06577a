resource "cmdop_fleet_token" "ci" {
  name   = "ci"
  scopes = ["machines:read", "commands:execute"]
}

# Marked sensitive: plan, apply and `terraform output` show (sensitive value)
# instead of the secret. `terraform output -raw ci_token` prints it, for a
# script to pipe into a secret store.
output "ci_token" {
  value     = cmdop_fleet_token.ci.secret
  sensitive = true
}

# key_prefix is safe to show, and enough to recognise the token in the
# CMDOP console or in the audit log.
output "ci_token_key_prefix" {
  value = cmdop_fleet_token.ci.key_prefix
}
