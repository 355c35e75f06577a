#!/usr/bin/env bash
# Runs `terraform validate` in every directory of examples/ that holds .tf
# files (or in the directories given), against the provider built from this
# tree (dev_overrides), so no registry is needed. A directory that needs
# another provider (hashicorp/time) is initialised first from the local
# mirror that `make tools` fills. Directories with ephemeral resources, which
# Terraform 1.5.7 cannot parse, are validated with OpenTofu.
#
# Usage (make validate-examples sets these):
#   TERRAFORM=bin/terraform TOFU=bin/tofu MIRROR=bin/mirror scripts/validate-examples.sh [DIR...]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
TERRAFORM="${TERRAFORM:-$root/bin/terraform}"
# Ephemeral resources need Terraform 1.10+: those examples are validated
# with OpenTofu instead.
TOFU="${TOFU:-$root/bin/tofu}"
MIRROR="${MIRROR:-$root/bin/mirror}"
# Absolute paths: each validation runs in another directory.
abs() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
TERRAFORM="$(abs "$TERRAFORM")" TOFU="$(abs "$TOFU")" MIRROR="$(abs "$MIRROR")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "==> Building the provider"
go build -o "$work/plugins/terraform-provider-cmdop" .
# `terraform init` ignores dev_overrides and would still look cmdop/cmdop up
# in the registry, so the same binary is also offered by a local mirror, as
# version 0.1.0 (for the examples' "~> 0.1" constraints).
cmdop_mirror="$work/mirror/registry.terraform.io/cmdop/cmdop/0.1.0/$(go env GOOS)_$(go env GOARCH)"
mkdir -p "$cmdop_mirror"
cp "$work/plugins/terraform-provider-cmdop" "$cmdop_mirror/terraform-provider-cmdop_v0.1.0"

cat >"$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/cmdop/cmdop" = "$work/plugins"
    "registry.opentofu.org/cmdop/cmdop" = "$work/plugins"
  }
  filesystem_mirror {
    path    = "$work/mirror"
    include = ["registry.terraform.io/cmdop/cmdop"]
  }
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/hashicorp/time"]
  }
  direct {
    exclude = ["registry.terraform.io/cmdop/cmdop", "registry.terraform.io/hashicorp/time"]
  }
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc"
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
unset TF_WORKSPACE

if [ "$#" -gt 0 ]; then
  dirs=("$@")
else
  mapfile -t dirs < <(find examples -name '*.tf' -printf '%h\n' | sort -u)
fi

failed=()
for dir in "${dirs[@]}"; do
  # Validate a copy, so that no .terraform directory or lock file is left
  # in examples/.
  copy="$work/examples/$dir"
  mkdir -p "$copy"
  cp "$dir"/*.tf "$copy"/
  # Resource and data source examples leave out the terraform block, as the
  # registry's pages do; without one, Terraform would look for hashicorp/cmdop.
  if ! grep -Eq 'source *= *"(registry\.terraform\.io/)?cmdop/cmdop"' "$copy"/*.tf; then
    printf 'terraform {\n  required_providers {\n    cmdop = { source = "cmdop/cmdop" }\n  }\n}\n' >"$copy/zz_required_providers.tf"
  fi
  log="$work/validate.log"
  ok=true
  cli="$TERRAFORM"
  if grep -Eq '^ephemeral +"' "$dir"/*.tf; then
    cli="$TOFU"
  fi
  (
    cd "$copy"
    # With dev_overrides, a directory that needs only cmdop skips init; one
    # that needs another provider is initialised from the local mirrors.
    if grep -Eq 'source *= *"(registry\.terraform\.io/)?hashicorp/' ./*.tf; then
      "$cli" init -backend=false -input=false -no-color
    fi
    "$cli" validate -no-color
  ) >"$log" 2>&1 || ok=false
  if $ok; then
    echo "ok    $dir ($(basename "$cli"))"
  else
    echo "FAIL  $dir"
    sed 's/^/      /' "$log"
    failed+=("$dir")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "terraform validate failed in ${#failed[@]} of ${#dirs[@]} example directories: ${failed[*]}" >&2
  exit 1
fi
echo "terraform validate passed in all ${#dirs[@]} example directories"
