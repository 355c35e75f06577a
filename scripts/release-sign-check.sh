#!/usr/bin/env bash
# Checks the release signature end to end: a snapshot release of one platform
# (linux/amd64) from .goreleaser.yml, signed with a throwaway GPG key, then
# `gpg --verify` of the SHA256SUMS signature and `sha256sum -c` of the zips.
# It catches a checksum file that changes after it was signed, which the
# Terraform Registry would reject. It also checks the cmdop-local archive
# against its own checksums file, and its --version. Needs gpg; leaves nothing behind but dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
GORELEASER="${GORELEASER:-bin/goreleaser}"
command -v gpg >/dev/null || { echo "release-sign-check: gpg is not installed; skipped" >&2; exit 0; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --passphrase '' --quick-gen-key "cmdop release-sign-check <nobody@example.invalid>" rsa2048 sign 1d 2>/dev/null
GPG_FINGERPRINT="$(gpg --list-keys --with-colons | awk -F: '/^fpr/ { print $10; exit }')"
export GPG_FINGERPRINT

# The same configuration, built for one platform only.
awk '
  /^    goos:/   { print "    goos: [linux]"; skip = 1; next }
  /^    goarch:/ { print "    goarch: [amd64]"; skip = 1; next }
  skip && /^      - / { next }
  { skip = 0; print }
' .goreleaser.yml >"$work/goreleaser.yml"

"$GORELEASER" release -f "$work/goreleaser.yml" --snapshot --clean --skip=publish >"$work/release.log" 2>&1 ||
  { cat "$work/release.log"; exit 1; }

cd dist
sums=(*_SHA256SUMS)
[ -f "${sums[0]}.sig" ] || { echo "release-sign-check: no signature of ${sums[0]}" >&2; exit 1; }
gpg --verify "${sums[0]}.sig" "${sums[0]}" 2>&1 | grep -q 'Good signature' ||
  { echo "release-sign-check: the signature of ${sums[0]} does not verify" >&2; exit 1; }
grep -q '_manifest\.json$' "${sums[0]}" ||
  { echo "release-sign-check: ${sums[0]} does not list the registry manifest" >&2; exit 1; }
grep -v '_manifest\.json$' "${sums[0]}" | sha256sum -c --quiet
# The registry's checksums list the provider's zips and manifest only.
if grep -v '  terraform-provider-cmdop_' "${sums[0]}"; then
  echo "release-sign-check: ${sums[0]} lists files that are not the provider's (above)" >&2; exit 1
fi
echo "release-sign-check: ${sums[0]} lists the zips and the manifest, and its signature verifies"

# cmdop-local: its archive, listed in its own checksums file, and a binary
# that reports the version goreleaser gave it.
local_sums=(cmdop-local_*_checksums.txt)
[ -s "${local_sums[0]}" ] || { echo "release-sign-check: no cmdop-local checksums file" >&2; exit 1; }
sha256sum -c --quiet "${local_sums[0]}"
version="$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' metadata.json)"
archive="cmdop-local_${version}_linux_amd64.tar.gz"
grep -q "  $archive\$" "${local_sums[0]}" || { echo "release-sign-check: ${local_sums[0]} does not list $archive" >&2; exit 1; }
tar -xzf "$archive" -C "$work" cmdop-local
got="$("$work/cmdop-local" --version)"
[ "$got" = "cmdop-local $version" ] ||
  { echo "release-sign-check: cmdop-local --version printed '$got', want 'cmdop-local $version'" >&2; exit 1; }
echo "release-sign-check: ${local_sums[0]} lists $archive, whose cmdop-local --version prints $version"
