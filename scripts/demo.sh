#!/usr/bin/env bash
# make demo: the whole life of a CMDOP token against cmdop-local, from a fresh
# clone with nothing but Go:
#
#   1. build the provider, cmdop-local and Terraform (once) into bin/
#   2. start cmdop-local on a free loopback port, point Terraform at the
#      provider built from this tree (dev_overrides)
#   3. apply examples/quickstart and show its outputs (secrets stay hidden)
#   4. rotate the fleet token with -replace
#   5. print the rotation's audit trail
#   6. destroy, and stop cmdop-local (also on failure)
#
# TF_BIN picks the CLI (make demo TF=tofu sets it to bin/tofu). No secret is
# ever printed: the token a consumer uses is passed to apicall on standard input.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
BIN="$root/bin"
TF_BIN="${TF_BIN:-$BIN/terraform}"
tf_name="$(basename "$TF_BIN")"

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
# of the token would make.
consumer_call() {
  api "$1" "/api/audit/events?limit=1" >/dev/null
}

# ---------------------------------------------------------------------------
step 1 "Building the provider, cmdop-local and the audit table helper into bin/"
command -v go >/dev/null || die "Go is needed: https://go.dev/dl/"
mkdir -p "$BIN"
if [ ! -x "$TF_BIN" ]; then
  case "$tf_name" in
    terraform | tofu)
      note "bin/$tf_name is missing: building it (make $tf_name; a few minutes, once)"
      make --no-print-directory "$tf_name" ;;
    *) die "$TF_BIN is missing: put a $tf_name binary there (or run make demo without TF=)" ;;
  esac
fi
go build -o "$BIN/terraform-provider-cmdop" .
go build -o "$BIN/cmdop-local" ./cmd/cmdop-local
go build -o "$BIN/audittable" ./scripts/audittable
go build -o "$BIN/apicall" ./scripts/apicall
note "$("$TF_BIN" version | head -n 1)"

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

cat >"$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/cmdop/cmdop" = "$BIN"
    "registry.opentofu.org/cmdop/cmdop" = "$BIN"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc"
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
unset TF_WORKSPACE TF_DATA_DIR
note "$tf_name uses the provider built from this tree (dev_overrides in $TF_CLI_CONFIG_FILE)"

# ---------------------------------------------------------------------------
step 3 "$tf_name apply: examples/quickstart (a fleet token, a personal token, an audit query)"
mkdir -p "$work/quickstart"
cp examples/quickstart/*.tf "$work/quickstart/"
cd "$work/quickstart"
tf apply -auto-approve -input=false -compact-warnings
printf '\n    %s output (sensitive values stay hidden):\n' "$tf_name"
tf output -no-color | sed 's/^/    /'
old_id="$(tf output -raw fleet_token_id)"
consumer_call "$(tf output -raw fleet_token_secret)"
note "a consumer called the API once with the fleet token (${old_id})"
# Kept in memory only, to play a consumer that misses the rotation.
old_secret="$(tf output -raw fleet_token_secret)"

# ---------------------------------------------------------------------------
step 4 "Rotating the fleet token: $tf_name apply -replace=cmdop_fleet_token.ci"
tf apply -auto-approve -input=false -compact-warnings -replace=cmdop_fleet_token.ci
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
tf destroy -auto-approve -input=false -compact-warnings
cd "$root"
kill -TERM "$server_pid"
wait "$server_pid" || die "cmdop-local did not stop cleanly"
server_pid=""
printf '\n==> Done: issued, used, rotated, audited and revoked against cmdop-local.\n'
