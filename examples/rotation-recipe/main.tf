# CMDOP's zero-downtime rotation, in four steps, as Terraform.
#
#   1. Issue a new token with the same scopes (create_before_destroy, fed by
#      time_rotating through rotation_triggers).
#   2. Roll it out to the consumers (here a terraform_data stand-in).
#   3. Check in the audit log that the previous token's last use came before
#      the rollout (a check block: a warning, never a blocked apply).
#   4. Revoke the previous token: here an hour after the rotation, through
#      revoke_grace_period; "0s" revokes it at once.
#
# Connection settings come from CMDOP_API_BASE_URL, CMDOP_TOKEN and
# CMDOP_FLEET_ID (cmdop-local prints them).

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    cmdop = {
      source = "cmdop/cmdop"
    }
    time = {
      source  = "hashicorp/time"
      version = "0.14.2"
    }
  }
}

provider "cmdop" {}

variable "rotation_days" {
  description = "How often the deploy token is rotated."
  type        = number
  default     = 30
}

# Step 1. time_rotating changes its id every rotation_days; the change
# replaces the token, and create_before_destroy issues the new one first.
# Without the time provider, the built-in alternative is:
#   rotation_triggers = { period = formatdate("YYYY-MM", plantimestamp()) }
resource "time_rotating" "deploy" {
  rotation_days = var.rotation_days
}

resource "cmdop_fleet_token" "deploy" {
  name   = "deploy"
  scopes = ["machines:read", "commands:execute"]
  expiry = "90d"

  rotation_triggers = {
    rotation = time_rotating.deploy.id
  }

  # Step 4. On replacement the previous token keeps working for an hour,
  # then expires, so consumers never go without a valid token.
  revoke_grace_period = "1h"

  lifecycle {
    create_before_destroy = true
  }
}

# Step 2. The consumer receives the new secret. Replace this stand-in with
# what really holds it: a CI variable, a secret store, another provider.
resource "terraform_data" "consumer" {
  input = cmdop_fleet_token.deploy.secret
}

# When the consumer got the current token: the start of step 3's window.
resource "terraform_data" "rollout" {
  triggers_replace = cmdop_fleet_token.deploy.id
  input            = timestamp()
  depends_on       = [terraform_data.consumer]

  lifecycle {
    ignore_changes = [input]
  }
}

# The earlier deploy tokens: still active during their grace period.
data "cmdop_fleet_tokens" "deploy" {
  name_prefix = "deploy"
  status      = "active"
  depends_on  = [terraform_data.rollout]
}

# Only this configuration's previous tokens: of the same name, and in the
# grace period that this configuration's last rotation gave them. Such a
# token was revoked after its replacement was issued, so it expires from one
# hour (revoke_grace_period) to a few minutes more after the current token's
# created_at, both by the API server's clock. Another configuration's
# "deploy" tokens, current or rotated earlier, fall outside that window, so
# a fresh copy of this recipe never warns about them.
locals {
  previous_token_ids = [
    for t in data.cmdop_fleet_tokens.deploy.tokens : t.id
    if t.name == cmdop_fleet_token.deploy.name && t.id != cmdop_fleet_token.deploy.id && try(
      timecmp(t.expires_at, timeadd(cmdop_fleet_token.deploy.created_at, "1h")) >= 0 &&
      timecmp(t.expires_at, timeadd(cmdop_fleet_token.deploy.created_at, "65m")) <= 0,
    false)
  ]
}

# Step 3's evidence: the fleet's token uses since the rollout. An ordinary
# data source, not one inside the check block: Terraform reads a check
# block's own data source again at every apply, so every plan would show it
# as "will be read during apply" and `plan -detailed-exitcode` would never
# exit 0 on this configuration.
data "cmdop_audit_events" "since_rollout" {
  fleet_id = cmdop_fleet_token.deploy.fleet_id
  actions  = ["token.used"]
  since    = terraform_data.rollout.output
}

# Step 3. Warn if a previous token was used after the rollout: a consumer
# still holds the old secret, and revoking it now would break that consumer.
# The warning clears once the previous token's grace period is over.
check "previous_token_idle_since_rollout" {
  assert {
    condition = length([
      for e in data.cmdop_audit_events.since_rollout.events : e
      if contains(local.previous_token_ids, e.token_id)
    ]) == 0
    error_message = format(
      "A previous deploy token was still used after the rollout at %s (latest use %s). A consumer still holds the old secret: roll the new one out to it before the grace period ends.",
      terraform_data.rollout.output,
      try([for e in data.cmdop_audit_events.since_rollout.events : e.time if contains(local.previous_token_ids, e.token_id)][0], "unknown"),
    )
  }
}

output "deploy_token_id" {
  value = cmdop_fleet_token.deploy.id
}

output "deploy_secret" {
  value     = cmdop_fleet_token.deploy.secret
  sensitive = true
}
