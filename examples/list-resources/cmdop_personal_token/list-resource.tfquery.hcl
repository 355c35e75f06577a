# List resources need Terraform 1.14+ (not OpenTofu).
#
# In a file ending in .tfquery.hcl, beside the configuration that holds the
# provider block: `terraform query -generate-config-out=adopt.tf` writes a
# resource and an import { identity = … } block for each token it finds.

# The calling user's active personal tokens issued in the last 30 days.
list "cmdop_personal_token" "mine" {
  provider         = cmdop
  include_resource = true
  config {
    status        = "active"
    created_after = timeadd(plantimestamp(), "-720h")
  }
}
