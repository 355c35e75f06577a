#!/usr/bin/env bash
# Runs `terraform validate` in every directory of examples/ that holds .tf
# files, against the provider built from this tree (dev_overrides), so no
# registry is needed. A directory that needs another provider (hashicorp/time)
# is initialised first from the local mirror that `make tools` fills.
#
# Usage (make validate-examples sets these):
#   TERRAFORM=bin/terraform MIRROR=bin/mirror scripts/validate-examples.sh [DIR...]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
TERRAFORM="${TERRAFORM:-$root/bin/terraform}"
MIRROR="${MIRROR:-$root/bin/mirror}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "==> Building the provider"
go build -o "$work/plugins/terraform-provider-cmdop" .

cat >"$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/cmdop/cmdop" = "$work/plugins"
  }
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
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
  log="$work/validate.log"
  ok=true
  (
    cd "$copy"
    # With dev_overrides only cmdop is needed and init can be skipped; any
    # other provider is installed from the mirror (init warns that the
    # overrides are in effect, and leaves cmdop alone).
    if grep -Eq 'source *= *"(registry\.terraform\.io/)?hashicorp/' ./*.tf; then
      "$TERRAFORM" init -backend=false -input=false -no-color
    fi
    "$TERRAFORM" validate -no-color
  ) >"$log" 2>&1 || ok=false
  if $ok; then
    echo "ok    $dir"
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
