#!/usr/bin/env bash
# Writes the provider's schema, as `providers schema -json` prints it, to the
# file named by $1, for tfplugindocs --providers-schema.
#
# The CLI that reads it is $SCHEMA_CLI: Terraform 1.14 or later
# (make docs passes bin/terraform-1.16.0), the only CLI whose schema holds
# list resources and actions. Without SCHEMA_CLI it is OpenTofu (bin/tofu),
# whose schema has ephemeral resources and identities but no list resources
# or actions; Terraform 1.5.7 silently leaves out even ephemeral resources.
# The provider is built from this tree and installed from a local plugin
# directory: nothing is downloaded.
set -euo pipefail
out="$1"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
CLI="${SCHEMA_CLI:-${TOFU:-$root/bin/tofu}}"

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
"$CLI" init -input=false -no-color -plugin-dir="$work/plugins" >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
"$CLI" providers schema -json >"$out"
