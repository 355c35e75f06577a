# With Terraform 1.5 or later, import with an import block next to the
# resource's configuration, then run `terraform plan` and `terraform apply`.
import {
  to = cmdop_fleet_token.ci
  id = "3d4c0d8e-5b8a-4f0e-9a51-2f7d1c6b9e10/8f14e45f-ceea-4672-9a4b-1c2d3e4f5a6b"
}
