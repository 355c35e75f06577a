#!/usr/bin/env bash
# make demo: the whole life of a CMDOP token against cmdop-local, from a fresh
# clone with nothing but Go:
#
#   1. pick the CLI: the terraform (or, with TF=tofu, tofu) on PATH when it
#      is 1.5 or later, else one built earlier into bin/, else build one
#      there (minutes, once); build the provider and cmdop-local into bin/
#   2. start cmdop-local on a free loopback port; the CLI installs the
#      provider built from this tree from a local mirror (terraform init)
#   3. apply examples/quickstart and show its outputs (secrets stay hidden)
#   4. rotate the fleet token with -replace
#   5. print the rotation's audit trail
#   6. destroy, and stop cmdop-local (also on failure)
#
# TF=terraform|tofu picks which CLI to look for; TF_BIN=/path/to/cli skips the
# search. No secret is ever printed: the token a consumer uses is passed to
# apicall on standard input.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
BIN="$root/bin"
TF="${TF:-terraform}"
TF_BIN="${TF_BIN:-}"

step() { printf '\n==> [%s/6] %s\n' "$1" "$2"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/cmdop-demo.XXXXXX")"
server_pid=""

cleanup() {
  local rc=$?
  set +e
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  if [ "$rc" -ne 0 ]; then
    if [ -s "$work/cmdop-local.log" ]; then
      printf '\ndemo: the last lines cmdop-local logged:\n' >&2
      tail -n 20 "$work/cmdop-local.log" | sed 's/^/    /' >&2
    fi
    printf '\ndemo: FAILED (exit %s)\n' "$rc" >&2
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tf() { "$TF_BIN" "$@"; }

# api TOKEN PATH: one authenticated GET, printing the body; fails on an HTTP
# error. The token goes to the apicall helper on standard input (printf is a
# shell builtin), never on a command line or the terminal.
api() {
  printf '%s\n' "$1" | "$BIN/apicall" "$CMDOP_API_BASE_URL$2"
}

# consumer_call SECRET: one API call authenticated by SECRET, as a consumer
# of the token would make: who-am-I, which any valid token may call whatever
# its scopes (least privilege: the quickstart's tokens cannot read the audit
# log), and which a revoked token gets a 401 for.
consumer_call() {
  api "$1" "/api/account" >/dev/null
}

# The CLI configuration comes first: every CLI call reads it, `version`
# included, and a missing file makes Terraform print a warning. The provider
# built from this tree is installed from a local mirror, as a registry
# release would be (dev_overrides would print a warning on every command).
mirror="$work/mirror"
cat >"$work/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/cmdop/cmdop", "registry.opentofu.org/cmdop/cmdop"]
  }
  direct {
    exclude = ["registry.terraform.io/cmdop/cmdop", "registry.opentofu.org/cmdop/cmdop"]
  }
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc"
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
unset TF_WORKSPACE TF_DATA_DIR

# cli_version BIN: the X.Y.Z that `BIN version` reports, or nothing.
cli_version() {
  "$1" version 2>/dev/null | sed -n '1s/^[A-Za-z]* v\([0-9][0-9]*\.[0-9][0-9]*[0-9.]*\).*/\1/p'
}
# at_least_1_5 X.Y.Z
at_least_1_5() {
  local major="${1%%.*}" rest="${1#*.}"
  local minor="${rest%%.*}"
  [ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -ge 5 ]; }
}

# ---------------------------------------------------------------------------
step 1 "Picking the CLI, and building the provider, cmdop-local and two helpers into bin/"
command -v go >/dev/null || die "Go is needed: https://go.dev/dl/"
case "$TF" in
  terraform | tofu) ;;
  *) die "TF must be terraform or tofu (or set TF_BIN=/path/to/cli), not '$TF'" ;;
esac
mkdir -p "$BIN"
if [ -n "$TF_BIN" ]; then
  [ -x "$TF_BIN" ] || die "TF_BIN=$TF_BIN is not an executable"
  picked="TF_BIN"
elif on_path="$(command -v "$TF")" && v="$(cli_version "$on_path")" && [ -n "$v" ] && at_least_1_5 "$v"; then
  TF_BIN="$on_path"
  picked="found on PATH"
elif [ -x "$BIN/$TF" ]; then
  TF_BIN="$BIN/$TF"
  picked="${on_path:+$on_path is older than 1.5, so }built earlier into bin/"
else
  if [ -n "$on_path" ]; then
    note "$on_path is ${v:-of an unknown version}; the demo needs $TF 1.5 or later"
  else
    note "no $TF on PATH"
  fi
  note "building $TF into bin/ from the Go module proxy (make $TF): a few minutes on 2 cores, once"
  start=$SECONDS
  make --no-print-directory "$TF"
  note "built bin/$TF in $((SECONDS - start)) s"
  TF_BIN="$BIN/$TF"
  picked="just built into bin/"
fi
tf_name="$(basename "$TF_BIN")"
note "using $TF_BIN: $("$TF_BIN" version | head -n 1) ($picked)"
go build -o "$BIN/" . ./cmd/cmdop-local ./scripts/audittable ./scripts/apicall
platform="$(go env GOOS)_$(go env GOARCH)"
for host in registry.terraform.io registry.opentofu.org; do
  mkdir -p "$mirror/$host/cmdop/cmdop/0.0.1/$platform"
  cp "$BIN/terraform-provider-cmdop" "$mirror/$host/cmdop/cmdop/0.0.1/$platform/terraform-provider-cmdop_v0.0.1"
done

# ---------------------------------------------------------------------------
step 2 "Starting cmdop-local on a free loopback port"
"$BIN/cmdop-local" --addr 127.0.0.1:0 >"$work/env.sh" 2>"$work/cmdop-local.log" &
server_pid=$!
for _ in $(seq 1 100); do
  [ "$(wc -l <"$work/env.sh")" -ge 4 ] && break
  kill -0 "$server_pid" 2>/dev/null || die "cmdop-local exited before it was ready"
  sleep 0.1
done
[ "$(wc -l <"$work/env.sh")" -ge 4 ] || die "cmdop-local printed no settings within 10 seconds"
# shellcheck disable=SC1091
. "$work/env.sh"
export CMDOP_API_BASE_URL CMDOP_TOKEN CMDOP_FLEET_ID
[ -n "$CMDOP_TOKEN" ] || die "cmdop-local printed no admin token"
[ -n "$CMDOP_LOCAL_CONTROL_TOKEN" ] || die "cmdop-local printed no control token"
ready=false
for _ in $(seq 1 50); do
  if api "$CMDOP_LOCAL_CONTROL_TOKEN" /_local/clock >/dev/null 2>&1; then
    ready=true
    break
  fi
  sleep 0.1
done
$ready || die "cmdop-local does not answer on $CMDOP_API_BASE_URL"
note "CMDOP_API_BASE_URL=$CMDOP_API_BASE_URL"
note "CMDOP_FLEET_ID=$CMDOP_FLEET_ID"
note "CMDOP_TOKEN=(the admin token, not shown)"


# ---------------------------------------------------------------------------
step 3 "$tf_name apply: examples/quickstart (a fleet token, a personal token, an audit query)"
mkdir -p "$work/quickstart"
cp examples/quickstart/*.tf "$work/quickstart/"
cd "$work/quickstart"
tf init -input=false | sed -n 's/^- Installed /    installed /p'
tf apply -auto-approve -input=false
printf '\n    %s output (sensitive values stay hidden):\n' "$tf_name"
tf output -no-color | sed 's/^/    /'
old_id="$(tf output -raw fleet_token_id)"
consumer_call "$(tf output -raw fleet_token_secret)"
note "a consumer called the API once with the fleet token (${old_id})"
# Kept in memory only, to play a consumer that misses the rotation.
old_secret="$(tf output -raw fleet_token_secret)"

# ---------------------------------------------------------------------------
step 4 "Rotating the fleet token: $tf_name apply -replace=cmdop_fleet_token.ci"
tf apply -auto-approve -input=false -replace=cmdop_fleet_token.ci
new_id="$(tf output -raw fleet_token_id)"
[ "$new_id" != "$old_id" ] || die "the fleet token was not replaced"
consumer_call "$(tf output -raw fleet_token_secret)"
note "the fleet token is now ${new_id}; the consumer switched to it and called the API"
if consumer_call "$old_secret" 2>/dev/null; then
  die "the old fleet token still works after the rotation"
fi
unset old_secret
note "a straggler still holding the old token was refused (401)"

# ---------------------------------------------------------------------------
step 5 "The rotation's audit trail (GET /api/audit/events?fleet_id=...)"
api "$CMDOP_TOKEN" "/api/audit/events?fleet_id=$CMDOP_FLEET_ID&limit=50" |
  "$BIN/audittable" -token "$old_id=old" -token "$new_id=new" | sed 's/^/    /'

# ---------------------------------------------------------------------------
step 6 "$tf_name destroy, and stopping cmdop-local"
tf destroy -auto-approve -input=false
cd "$root"
kill -TERM "$server_pid"
wait "$server_pid" || die "cmdop-local did not stop cleanly"
server_pid=""
printf '\n==> Done: issued, used, rotated, audited and revoked against cmdop-local.\n'
