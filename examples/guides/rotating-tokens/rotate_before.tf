# No trigger at all: once the API server's clock is within 7 days of
# expires_at, the next plan replaces the token and says why in a warning.
resource "cmdop_fleet_token" "agents" {
  name          = "fleet-agents"
  scopes        = ["machines:read", "machines:write"]
  expiry        = "30d"
  rotate_before = "7d"
}
