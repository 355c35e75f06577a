# A fleet token is imported by "<fleet_id>/<token_id>". Its secret cannot be
# read back: it is null after the import, until `terraform apply -replace`
# issues a new token.
terraform import cmdop_fleet_token.ci 3d4c0d8e-5b8a-4f0e-9a51-2f7d1c6b9e10/8f14e45f-ceea-4672-9a4b-1c2d3e4f5a6b
