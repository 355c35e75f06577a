# terraform query (Terraform 1.14+) lists the candidates with their key
# prefix in the display name, whether Terraform manages them or not:
#
#   terraform query
#   list.cmdop_fleet_token.recent   ci-agents (cmdop_AbC123)   …
list "cmdop_fleet_token" "recent" {
  provider = cmdop
  config {
    status        = "active"
    created_after = "2026-11-01T00:00:00Z"
  }
}
