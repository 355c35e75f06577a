# time_rotating changes its id every 30 days, which replaces the token: the
# token lives 90 days, so it is always replaced well before it expires.
resource "time_rotating" "monthly" {
  rotation_days = 30
}

resource "cmdop_fleet_token" "deploy" {
  name   = "deploy"
  scopes = ["machines:read", "commands:execute"]
  expiry = "90d"

  rotation_triggers = {
    rotation = time_rotating.monthly.id
  }
}
