#!/usr/bin/env bash
# Builds Terraform $VERSION (1.12+, BSL: built and run here only to test the
# provider, never redistributed) into $OUT from the Go module proxy.
# `go install` refuses these releases: their go.mod replaces nested modules
# (the remote-state backends, internal/legacy) that the module zip leaves
# out. So: copy the module, drop those nine backends and the replace lines,
# and build. The local backend, which the tests use, is untouched.
set -euo pipefail
VERSION="${1:?usage: build-terraform-latest.sh VERSION OUT}"
OUT="${2:?usage: build-terraform-latest.sh VERSION OUT}"
dir="$(cd / && GOFLAGS= go mod download -json "github.com/hashicorp/terraform@v$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -n "$dir" ] || { echo "go mod download found no terraform $VERSION" >&2; exit 1; }
work="$(mktemp -d)"
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$dir/." "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"
init=internal/backend/init/init.go
for b in Azure Consul Cos GCS Kubernetes OCI OSS Pg S3; do
  sed -i "/backend$b \"/d; /backend$b\.New()/d" "$init"
done
sed -i -E '/^replace github.com\/hashicorp\/terraform\/internal\/(backend\/remote-state\/(azure|consul|cos|gcs|kubernetes|oss|pg|s3|oci)|legacy) =>/d' go.mod
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
  -ldflags "-s -w -X github.com/hashicorp/terraform/version.dev=no" -o "$OUT" .
"$OUT" version
