# The first 12 characters of the leaked secret ("cmdop_" and 6 more) are the
# token's key prefix: safe to paste here, and enough to find the token.
variable "leaked_key_prefix" {
  type    = string
  default = "cmdop_AbC123"
}

# When the secret was exposed (the time of the commit, the log line, …).
variable "leaked_at" {
  type    = string
  default = "2026-11-30T18:00:00Z"
}

# Listing personal tokens needs a personal token: configure the provider
# with a personal token (of a fleet owner or admin, holding
# permissions:manage), not a fleet token, which the API refuses here.
data "cmdop_fleet_tokens" "all" {}
data "cmdop_personal_tokens" "all" {}

locals {
  leaked = [
    for t in concat(data.cmdop_fleet_tokens.all.tokens, data.cmdop_personal_tokens.all.tokens) :
    t if t.key_prefix == var.leaked_key_prefix
  ]
}

# Who used the token since the leak, and from where.
data "cmdop_audit_events" "leaked_use" {
  for_each = { for t in local.leaked : t.id => t }

  token_id = each.key
  actions  = ["token.used"]
  since    = var.leaked_at
}

output "leaked_tokens" {
  value = {
    for t in local.leaked : t.id => {
      name       = t.name
      status     = t.status
      last_used  = t.last_used_at
      used_since = [for e in data.cmdop_audit_events.leaked_use[t.id].events : "${e.time} from ${e.source_ip}"]
    }
  }
}
