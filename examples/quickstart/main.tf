# CMDOP quickstart: a fleet token for a CI pipeline, a personal token, and
# the fleet token's audit trail.
#
# The provider block is empty: the connection comes from the environment,
#
#   CMDOP_API_BASE_URL   the API (cmdop-local prints http://127.0.0.1:PORT)
#   CMDOP_TOKEN          the token Terraform authenticates with
#   CMDOP_FLEET_ID       the fleet cmdop_fleet_token uses by default
#
# which are exactly the lines cmdop-local prints. `make demo` runs this
# configuration against cmdop-local from start to finish.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    cmdop = {
      source = "cmdop/cmdop"
    }
  }
}

provider "cmdop" {}

# The pipeline's token. `terraform apply -replace=cmdop_fleet_token.ci`
# rotates it; so does the first plan inside the last 7 days of its life. The
# replacement is issued before the old token is revoked.
resource "cmdop_fleet_token" "ci" {
  name          = "quickstart-ci"
  scopes        = ["machines:read", "commands:execute"]
  expiry        = "90d"
  rotate_before = "7d"

  lifecycle {
    create_before_destroy = true
  }
}

# A personal token: it acts as the user behind CMDOP_TOKEN.
resource "cmdop_personal_token" "cli" {
  name   = "quickstart-cli"
  scopes = ["machines:read", "files:read"]
  expiry = "30d"
}

# What the audit log says about the current fleet token. It is read once the
# token exists, so it includes at least the token.issued event.
data "cmdop_audit_events" "ci" {
  fleet_id = cmdop_fleet_token.ci.fleet_id
  token_id = cmdop_fleet_token.ci.id
}
