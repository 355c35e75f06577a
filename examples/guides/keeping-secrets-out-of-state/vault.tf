# Vault KV: `token=-` makes `vault kv put` read that field's value from
# standard input. VAULT_ADDR and VAULT_TOKEN come from the environment that
# Terraform runs in, or from env here.
resource "cmdop_fleet_token" "batch" {
  name   = "batch-jobs"
  scopes = ["machines:read", "files:read"]

  secret_delivery {
    command = ["vault", "kv", "put", "-mount=secret", "cmdop/batch-jobs", "token=-"]
    env     = { VAULT_ADDR = "https://vault.example.com:8200" }
  }

  lifecycle {
    create_before_destroy = true
  }
}
