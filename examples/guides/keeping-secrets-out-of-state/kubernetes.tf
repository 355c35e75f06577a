# A Kubernetes secret. This one needs a pipeline, so it runs a shell, and
# says so: `sh -c` gets the script as an argument, and the secret still
# arrives only on standard input, which kubectl reads as /dev/stdin.
# `--dry-run=client -o yaml | kubectl apply -f -` creates the secret, or
# replaces its value if it exists. `tr -d '\n'` drops the newline that
# follows the secret, so that the stored value's SHA-256 is secret_sha256.
resource "cmdop_fleet_token" "operator" {
  name   = "k8s-operator"
  scopes = ["machines:read", "commands:execute"]

  secret_delivery {
    command = [
      "sh", "-c",
      "tr -d '\\n' | kubectl create secret generic cmdop-token --namespace \"$NAMESPACE\" --from-file=token=/dev/stdin --dry-run=client -o yaml | kubectl apply -f -",
    ]
    env = { NAMESPACE = "agents" }
  }

  lifecycle {
    create_before_destroy = true
  }
}
