# With Terraform 1.12 or later (or OpenTofu 1.12), import by the token's
# identity: its fleet's ID and its own ID. `terraform query` writes these
# blocks for you (see the cmdop_fleet_token list resource).
import {
  to = cmdop_fleet_token.ci
  identity = {
    fleet_id = "3d4c0d8e-5b8a-4f0e-9a51-2f7d1c6b9e10"
    id       = "8f14e45f-ceea-4672-9a4b-1c2d3e4f5a6b"
  }
}
