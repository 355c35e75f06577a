output "fleet_token_id" {
  description = "The fleet token's ID."
  value       = cmdop_fleet_token.ci.id
}

output "fleet_token_key_prefix" {
  description = "The first characters of the fleet token: safe to show."
  value       = cmdop_fleet_token.ci.key_prefix
}

output "fleet_token_expires_at" {
  description = "When the fleet token expires."
  value       = cmdop_fleet_token.ci.expires_at
}

output "fleet_token_secret" {
  description = "The fleet token itself. Read it with: terraform output -raw fleet_token_secret"
  value       = cmdop_fleet_token.ci.secret
  sensitive   = true
}

output "personal_token_key_prefix" {
  description = "The first characters of the personal token: safe to show."
  value       = cmdop_personal_token.cli.key_prefix
}

output "personal_token_secret" {
  description = "The personal token itself. Read it with: terraform output -raw personal_token_secret"
  value       = cmdop_personal_token.cli.secret
  sensitive   = true
}

output "fleet_token_audit" {
  description = "The fleet token's audit events, newest first."
  value = [
    for e in data.cmdop_audit_events.ci.events :
    "${e.time}  ${e.action}  request ${e.request_id}"
  ]
}
