#!/usr/bin/env bash
# make install-dev: installs the provider built from this tree where
# Terraform and OpenTofu find it, for both registry hosts
# (registry.terraform.io/cmdop/cmdop and registry.opentofu.org/cmdop/cmdop):
#
#   DIR/plugins/terraform-provider-cmdop     the binary, for dev_overrides
#   DIR/mirror/<host>/cmdop/cmdop/VERSION/…  a filesystem mirror, for init
#   DIR/cmdop-dev.tfrc                       a CLI configuration with both
#
# With TF_CLI_CONFIG_FILE=DIR/cmdop-dev.tfrc, `terraform apply` in a
# configuration that needs only cmdop/cmdop uses the built provider without
# `terraform init` (dev_overrides; the CLI warns that overrides are in
# effect), and `terraform init` installs it from the mirror as version
# VERSION, with every other provider from its registry as usual.
#
# Usage: scripts/install-dev.sh [DIR] (default bin/dev); VERSION=0.1.0.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$root/bin/dev}"
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
version="${VERSION:-0.1.0}"
platform="$(go env GOOS)_$(go env GOARCH)"
exe=""
[ "$(go env GOOS)" = windows ] && exe=".exe"

mkdir -p "$dir/plugins"
(cd "$root" && go build -o "$dir/plugins/terraform-provider-cmdop$exe" .)
hosts=(registry.terraform.io registry.opentofu.org)
for host in "${hosts[@]}"; do
  m="$dir/mirror/$host/cmdop/cmdop/$version/$platform"
  mkdir -p "$m"
  # A copy, not a link: OpenTofu ignores a symlinked mirror entry.
  cp "$dir/plugins/terraform-provider-cmdop$exe" "$m/terraform-provider-cmdop_v$version$exe"
done

cat >"$dir/cmdop-dev.tfrc.tmp" <<RC
# Written by make install-dev: the cmdop provider built from
# $root, for Terraform and OpenTofu.
provider_installation {
  dev_overrides {
    "registry.terraform.io/cmdop/cmdop" = "$dir/plugins"
    "registry.opentofu.org/cmdop/cmdop" = "$dir/plugins"
  }
  filesystem_mirror {
    path    = "$dir/mirror"
    include = ["registry.terraform.io/cmdop/cmdop", "registry.opentofu.org/cmdop/cmdop"]
  }
  direct {
    exclude = ["registry.terraform.io/cmdop/cmdop", "registry.opentofu.org/cmdop/cmdop"]
  }
}
RC
mv "$dir/cmdop-dev.tfrc.tmp" "$dir/cmdop-dev.tfrc"
echo "Installed the cmdop provider built from this tree (as $version) into $dir. To use it:"
echo "  export TF_CLI_CONFIG_FILE=$dir/cmdop-dev.tfrc"
