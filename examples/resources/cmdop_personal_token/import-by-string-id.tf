# With Terraform 1.5 or later, import with an import block next to the
# resource's configuration, then run `terraform plan` and `terraform apply`.
import {
  to = cmdop_personal_token.laptop
  id = "8f14e45f-ceea-4672-9a4b-1c2d3e4f5a6b"
}
