# A personal token is imported by its ID alone. Its secret cannot be read
# back: it is null after the import, until `terraform apply -replace` issues a
# new token.
terraform import cmdop_personal_token.laptop 8f14e45f-ceea-4672-9a4b-1c2d3e4f5a6b
