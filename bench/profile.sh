#!/usr/bin/env bash
# Profile one provider process through a no-op plan (bench/README.md,
# "Profiling the provider").
#
#   bench/profile.sh DIR PROVIDER_BINARY [terraform plan args...]
#
# DIR is a Terraform working directory whose resources exist already (an
# apply ran there); PROVIDER_BINARY is built with -tags pprof. The provider
# is started in debug mode (-debug) so that Terraform attaches to it
# (TF_REATTACH_PROVIDERS) instead of launching its own; the environment
# (CMDOP_*, TF_CLI_CONFIG_FILE) is passed to both. The profiles land in
# $CMDOP_PPROF_DIR (default: DIR/pprof) as cpu-PID.pprof and heap-PID.pprof.
set -euo pipefail
dir=$1 bin=$2
shift 2
export CMDOP_PPROF_DIR=${CMDOP_PPROF_DIR:-$dir/pprof}
mkdir -p "$CMDOP_PPROF_DIR"
tf=${TERRAFORM:-$(cd "$(dirname "$0")/.." && pwd)/bin/terraform}
out=$(mktemp)
"$bin" -debug >"$out" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do
	grep -q "TF_REATTACH_PROVIDERS='" "$out" && break
	sleep 0.1
done
reattach=$(sed -n "s/^[[:space:]]*TF_REATTACH_PROVIDERS='\(.*\)'$/\1/p" "$out" | head -1)
[ -n "$reattach" ] || { cat "$out" >&2; echo "no TF_REATTACH_PROVIDERS from $bin" >&2; exit 1; }
start=$(date +%s.%N)
(cd "$dir" && TF_REATTACH_PROVIDERS=$reattach "$tf" plan -input=false -no-color -detailed-exitcode "$@" >"$CMDOP_PPROF_DIR/plan.log") || [ $? -eq 2 ]
end=$(date +%s.%N)
ticks=$(awk '{print $14+$15}' /proc/$pid/stat)
kill -USR1 $pid
sleep 1
echo "plan took $(echo "$end - $start" | bc) s; provider pid $pid used $(echo "scale=2; $ticks/100" | bc) CPU-s; profiles in $CMDOP_PPROF_DIR"
