#!/usr/bin/env bash
# Runs `terraform validate` in every directory of examples/ that holds .tf
# files (or in the directories given), against the provider built from this
# tree (dev_overrides), so no registry is needed. A directory that needs
# another provider (hashicorp/time) is initialised first from the local
# mirror that `make tools` fills. Directories with ephemeral resources or
# identity import blocks, which Terraform 1.5.7 cannot parse, are validated
# with OpenTofu; those with list resources (.tfquery.hcl) or actions, which
# only Terraform 1.14+ knows, with TERRAFORM_LATEST, and skipped (saying
# so) when that binary is missing.
#
# Usage (make validate-examples sets these):
#   TERRAFORM=bin/terraform TOFU=bin/tofu MIRROR=bin/mirror \
#     TERRAFORM_LATEST=bin/terraform-1.16.0 scripts/validate-examples.sh [DIR...]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
TERRAFORM="${TERRAFORM:-$root/bin/terraform}"
# Ephemeral resources need Terraform 1.10+: those examples are validated
# with OpenTofu instead.
TOFU="${TOFU:-$root/bin/tofu}"
MIRROR="${MIRROR:-$root/bin/mirror}"
# List resources and actions need Terraform 1.14+.
TERRAFORM_LATEST="${TERRAFORM_LATEST:-$root/bin/terraform-1.16.0}"
# Absolute paths: each validation runs in another directory.
abs() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
TERRAFORM="$(abs "$TERRAFORM")" TOFU="$(abs "$TOFU")" MIRROR="$(abs "$MIRROR")" TERRAFORM_LATEST="$(abs "$TERRAFORM_LATEST")"

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
  mapfile -t dirs < <(find examples \( -name '*.tf' -o -name '*.tfquery.hcl' \) -printf '%h\n' | sort -u)
fi

failed=()
skipped=()
total=0
# validate DIR NAME FILE...: terraform validate on a copy of FILEs of DIR
# (so that no .terraform directory or lock file is left in examples/),
# reported as NAME.
validate() {
  local dir="$1" name="$2"
  shift 2
  total=$((total + 1))
  local copy="$work/examples/$name"
  mkdir -p "$copy"
  cp "$@" "$copy"/
  # A list resource example is only a .tfquery.hcl file: it needs a
  # configuration beside it with the provider block it names.
  if ! compgen -G "$copy/*.tf" >/dev/null; then
    printf 'provider "cmdop" {}\n' >"$copy/zz_provider.tf"
  fi
  # Resource and data source examples leave out the terraform block, as the
  # registry's pages do; without one, Terraform would look for hashicorp/cmdop.
  if ! grep -Eq 'source *= *"(registry\.terraform\.io/)?cmdop/cmdop"' "$copy"/*.tf; then
    printf 'terraform {\n  required_providers {\n    cmdop = { source = "cmdop/cmdop" }\n  }\n}\n' >"$copy/zz_required_providers.tf"
  fi
  local log="$work/validate.log" ok=true cli="$TERRAFORM"
  local validate_args=()
  if grep -Eqs '^ephemeral +"|^ +identity *= *\{' "$copy"/*.tf; then
    cli="$TOFU"
  fi
  if compgen -G "$copy/*.tfquery.hcl" >/dev/null || grep -Eqs '^action +"' "$copy"/*.tf; then
    cli="$TERRAFORM_LATEST"
    validate_args=(-query)
    if [ ! -x "$cli" ]; then
      echo "skip  $name (needs Terraform 1.14+: $cli is missing)"
      skipped+=("$name")
      return
    fi
  fi
  (
    cd "$copy"
    # With dev_overrides, a directory that needs only cmdop skips init; one
    # that needs another provider is initialised from the local mirrors.
    if grep -Eq 'source *= *"(registry\.terraform\.io/)?hashicorp/' ./*.tf; then
      "$cli" init -backend=false -input=false -no-color
    fi
    "$cli" validate -no-color "${validate_args[@]}"
  ) >"$log" 2>&1 || ok=false
  if $ok; then
    echo "ok    $name ($(basename "$cli"))"
  else
    echo "FAIL  $name"
    sed 's/^/      /' "$log"
    failed+=("$name")
  fi
}

for dir in "${dirs[@]}"; do
  files=()
  for f in "$dir"/*.tf "$dir"/*.tfquery.hcl; do
    [ -e "$f" ] && files+=("$f")
  done
  # The two import examples are alternatives (one import block each for
  # the same resource): each is validated on its own, with the resource.
  if [ -e "$dir/import-by-identity.tf" ]; then
    rest=()
    for f in "${files[@]}"; do
      case "$(basename "$f")" in import-by-identity.tf) ;; *) rest+=("$f") ;; esac
    done
    validate "$dir" "$dir" "${rest[@]}"
    rest=()
    for f in "${files[@]}"; do
      case "$(basename "$f")" in import-by-string-id.tf) ;; *) rest+=("$f") ;; esac
    done
    validate "$dir" "$dir (import-by-identity.tf)" "${rest[@]}"
    continue
  fi
  validate "$dir" "$dir" "${files[@]}"
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "terraform validate failed in ${#failed[@]} of $total example configurations: ${failed[*]}" >&2
  exit 1
fi
if [ "${#skipped[@]}" -gt 0 ]; then
  echo "terraform validate passed in $((total - ${#skipped[@]})) example configurations; skipped ${#skipped[@]} that need Terraform 1.14+: ${skipped[*]}"
  exit 0
fi
echo "terraform validate passed in all $total example configurations"
