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

# Active tokens of another fleet, made more than 90 days ago, that nothing
# has used for 90 days: the candidates to adopt or revoke.
variable "staging_fleet_id" {
  type = string
}

list "cmdop_fleet_token" "stale" {
  provider = cmdop
  limit    = 500
  config {
    fleet_id       = var.staging_fleet_id
    status         = "active"
    unused_since   = timeadd(plantimestamp(), "-2160h")
    created_before = timeadd(plantimestamp(), "-2160h")
  }
}
