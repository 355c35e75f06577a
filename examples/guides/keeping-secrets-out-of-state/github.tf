# GitHub Actions: the secret goes to `gh secret set` on standard input, and
# from there to the repository's encrypted secrets. gh reads its own
# credentials (GH_TOKEN, or `gh auth login`); the provider's CMDOP_TOKEN and
# CMDOP_API_KEY are removed from the command's environment.
resource "cmdop_fleet_token" "deploy" {
  name   = "ci-deploy"
  scopes = ["machines:read", "commands:execute"]
  expiry = "90d"

  secret_delivery {
    command = ["gh", "secret", "set", "CMDOP_TOKEN", "--repo", "acme/deploy"]
  }

  # Deliver the new secret first, then revoke the old token.
  lifecycle {
    create_before_destroy = true
  }
}
