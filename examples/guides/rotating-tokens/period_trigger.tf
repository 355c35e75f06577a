# The same without another provider: the first plan of each calendar month
# sees a new period and replaces the token.
resource "cmdop_fleet_token" "backup" {
  name   = "backup-agent"
  scopes = ["files:read", "files:write"]
  expiry = "90d"

  rotation_triggers = {
    period = formatdate("YYYY-MM", plantimestamp())
  }
}
