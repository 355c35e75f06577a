# List resources need Terraform 1.14+ (not OpenTofu).
#
# In a file ending in .tfquery.hcl, beside the configuration that holds the
# provider block. `terraform query` lists the matching tokens; with
# `-generate-config-out=adopt.tf` it also writes a resource and an
# import { identity = … } block for each, ready to adopt:
#
#   terraform query -generate-config-out=adopt.tf
#   terraform plan    # N to import, 0 to change
#   terraform apply

# Tokens of the provider's fleet issued by hand in the CMDOP console, which
# by convention are named "console-…".
list "cmdop_fleet_token" "console" {
  provider         = cmdop
  include_resource = true
  config {
    name_prefix = "console-"
    status      = "active"
  }
}

# Active tokens of another fleet that nothing has used since June: the
# candidates to adopt or revoke.
list "cmdop_fleet_token" "stale" {
  provider = cmdop
  limit    = 500
  config {
    fleet_id       = "3d4c0d8e-5b8a-4f0e-9a51-2f7d1c6b9e10"
    status         = "active"
    unused_since   = "2026-06-01T00:00:00Z"
    created_before = "2026-06-01T00:00:00Z"
  }
}
