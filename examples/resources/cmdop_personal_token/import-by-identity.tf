# With Terraform 1.12 or later (or OpenTofu 1.12), import by the token's
# identity, its ID. `terraform query` writes these blocks for you (see the
# cmdop_personal_token list resource).
import {
  to = cmdop_personal_token.laptop
  identity = {
    id = "8f14e45f-ceea-4672-9a4b-1c2d3e4f5a6b"
  }
}
