# A personal token for this run's own API calls (Terraform 1.10+ or OpenTofu
# 1.11+): issued when the run needs it, revoked when the run ends, and never
# written to state or to a plan file. The default provider issues it, so it
# must hold a personal token.
#
# Listing tokens needs permissions:manage (the API has no read-only scope
# for it), so the short-lived token carries that scope alone, and lives an
# hour at most should the run be killed before it can be revoked.
ephemeral "cmdop_personal_token" "reader" {
  name   = "terraform-reader"
  scopes = ["permissions:manage"]
}

# A second provider configuration that authenticates with the short-lived
# token, so the reads below never use the long-lived credentials.
provider "cmdop" {
  alias = "reader"
  token = ephemeral.cmdop_personal_token.reader.secret
}

# The calling user's CI tokens that nobody has used for 90 days.
data "cmdop_personal_tokens" "stale" {
  provider = cmdop.reader

  name_prefix    = "ci-"
  status         = "active"
  unused_since   = timeadd(plantimestamp(), "-2160h")
  created_before = timeadd(plantimestamp(), "-2160h") # not the tokens made since
}

output "stale_token_names" {
  value = [for t in data.cmdop_personal_tokens.stale.tokens : t.name]
}
