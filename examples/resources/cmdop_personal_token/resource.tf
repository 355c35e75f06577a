# A personal token for the calling user's own scripts. It acts as that user,
# within the fleets they belong to, and stops working if they leave.
resource "cmdop_personal_token" "laptop" {
  name   = "alice-laptop"
  scopes = ["machines:read", "files:read", "files:write"]
  expiry = "90d"

  # Issue a fresh token at the start of every month, whatever its expiry.
  rotation_triggers = {
    month = formatdate("YYYY-MM", plantimestamp())
  }
}

output "laptop_token" {
  description = "Read it with: terraform output -raw laptop_token"
  value       = cmdop_personal_token.laptop.secret
  sensitive   = true
}
