terraform {
  required_providers {
    cmdop = {
      source  = "cmdop/cmdop"
      version = "~> 0.1"
    }
  }
}

# Every argument is optional and falls back to an environment variable:
#
#   token         CMDOP_TOKEN, then CMDOP_API_KEY, then the CMDOP CLI's login
#   api_base_url  CMDOP_API_BASE_URL (default https://api.cmdop.com)
#   fleet_id      CMDOP_FLEET_ID
#   mode          CMDOP_MODE (prod or dev)
#   config_dir    CMDOP_CONFIG_DIR (the CLI's directory, default ~/.cmdop)
#
# so the usual configuration is an empty block, with the token exported by CI.
provider "cmdop" {}

# Or, to manage a second fleet from the same configuration:
provider "cmdop" {
  alias    = "staging"
  fleet_id = var.staging_fleet_id
  token    = var.staging_admin_token

  max_retries     = 8
  request_timeout = "45s"
}

variable "staging_fleet_id" {
  type = string
}

variable "staging_admin_token" {
  type      = string
  sensitive = true
}
