# AWS Secrets Manager: put-secret-value reads the secret from standard
# input through file:///dev/stdin. The secret must exist already; the
# command adds a new version of it. The newline that follows the secret on
# standard input is stored too, so consumers should trim it.
resource "cmdop_fleet_token" "lambda" {
  name   = "lambda-agents"
  scopes = ["machines:read"]
  expiry = "30d"

  rotate_before       = "7d"
  revoke_grace_period = "1h"

  secret_delivery {
    command = [
      "aws", "secretsmanager", "put-secret-value",
      "--secret-id", "cmdop/lambda-agents",
      "--secret-string", "file:///dev/stdin",
    ]
    env     = { AWS_REGION = "eu-west-1" }
    timeout = "2m"
  }

  lifecycle {
    create_before_destroy = true
  }
}
