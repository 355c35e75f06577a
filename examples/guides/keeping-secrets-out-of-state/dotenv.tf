# A dotenv file for a local tool: CMDOP_TOKEN=<secret>, written atomically
# with mode 0600 (the default), replacing the previous token's file. The
# directory must exist.
resource "cmdop_personal_token" "laptop" {
  name   = "laptop"
  scopes = ["machines:read"]

  secret_delivery {
    file   = pathexpand("~/.config/cmdop/laptop.env")
    format = "dotenv"
  }
}

# What a state reader learns: the fingerprint and the time, never the secret.
# `sha256sum` of a raw-format file equals secret_sha256.
output "laptop_token_sha256" {
  value = cmdop_personal_token.laptop.secret_sha256
}
