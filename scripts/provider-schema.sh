#!/usr/bin/env bash
# Writes the provider's schema, as `providers schema -json` prints it, to the
# file named by $1, for tfplugindocs --providers-schema.
#
# OpenTofu (bin/tofu) reads the schema rather than Terraform 1.5.7: 1.5.7
# predates ephemeral resources and silently leaves them out of the schema,
# so their pages would be missing from docs/. The provider is built from
# this tree and installed from a local plugin directory: nothing is
# downloaded.
set -euo pipefail
out="$1"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
TOFU="${TOFU:-$root/bin/tofu}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# tfplugindocs looks the provider up as registry.terraform.io/hashicorp/cmdop.
plugin="$work/plugins/registry.terraform.io/hashicorp/cmdop/0.0.1/$(go env GOOS)_$(go env GOARCH)"
mkdir -p "$plugin"
(cd "$root" && go build -o "$plugin/terraform-provider-cmdop" .)
cat >"$work/main.tf" <<'TF'
terraform {
  required_providers {
    cmdop = { source = "registry.terraform.io/hashicorp/cmdop" }
  }
}
TF
printf 'provider_installation {\n  direct {}\n}\n' >"$work/tofurc"
cd "$work"
export TF_CLI_CONFIG_FILE="$work/tofurc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
"$TOFU" init -input=false -no-color -plugin-dir="$work/plugins" >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
"$TOFU" providers schema -json >"$out"
