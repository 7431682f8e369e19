#!/usr/bin/env bash
# Reproduces every figure in docs/BENCHMARKS.md: runs each command the document quotes, in
# the same order, and keeps every command's output under
# $CARGO_TARGET_DIR/bench-results/<UTC time>/ (default target/bench-results/…).
#
#   scripts/bench-all.sh           the full run: criterion benches, detector accuracy, the
#                                  vault timing, the load runs and the 10-minute soak
#                                  (about 30 minutes on 2 cores, 40 from a cold build)
#   scripts/bench-all.sh --quick   every command with short durations (criterion --quick,
#                                  small load runs, a 20-second soak): checks the script
#                                  and the commands, not the figures
#
# A failing step is reported and the rest still run; the exit status is 1 if any failed.
# Figures depend on what else the machine is doing: record the load average with them.
set -uo pipefail

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
}

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench-all: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.." || exit 2
cargo=${CARGO:-cargo}
target_dir=${CARGO_TARGET_DIR:-target}
sluice="$target_dir/release/sluice"
suffix=""
[ "$quick" = 1 ] && suffix="-quick"
out="$target_dir/bench-results/$(date -u +%Y%m%dT%H%M%SZ)$suffix"
mkdir -p "$out" || exit 2

if [ "$quick" = 1 ]; then
  criterion=(-- --quick)
  load_grpc=(--front grpc --sessions 100 --warmup 2 --duration 5)
  load_mcp=(--front mcp --sessions 100 --warmup 2 --duration 5)
  soak=(--front both --sessions 200 --warmup 5 --duration 20)
  paced=(--front both --sessions 200 --warmup 5 --duration 10 --think-ms 2000)
else
  criterion=()
  load_grpc=(--front grpc --sessions 1000 --warmup 30 --duration 60)
  load_mcp=(--front mcp --sessions 1000 --warmup 30 --duration 60)
  soak=(--front both --sessions 1000 --warmup 60 --duration 600)
  paced=(--front both --sessions 1000 --warmup 30 --duration 60 --think-ms 2000)
fi

failed=()
started_all=$(date +%s)
printf 'step\tstatus\tseconds\tload average before\tcommand\n' >"$out/summary.tsv"

# step NAME COMMAND…: runs COMMAND with stdout and stderr in NAME.log.
step() {
  local name=$1
  shift
  run_step "$name" "$out/$name.log" "$out/$name.log" "$@"
}

# json_step NAME COMMAND…: stdout (the JSON report) in NAME.json, stderr in NAME.log.
json_step() {
  local name=$1
  shift
  run_step "$name" "$out/$name.json" "$out/$name.log" "$@"
}

run_step() {
  local name=$1 stdout=$2 stderr=$3
  shift 3
  local load started status
  load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
  started=$(date +%s)
  echo "== $name: $*"
  if [ "$stdout" = "$stderr" ]; then
    "$@" >"$stdout" 2>&1
  else
    "$@" >"$stdout" 2>"$stderr"
  fi
  local code=$?
  if [ "$code" = 0 ]; then status=ok; else status="FAILED (exit $code)"; failed+=("$name"); fi
  local took=$(($(date +%s) - started))
  echo "   $status in ${took} s (load average before: $load)"
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$took" "$load" "$*" >>"$out/summary.tsv"
}

echo "bench-all$suffix: results in $out"
{
  echo "started: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "rustc: $(rustc --version 2>/dev/null)"
} >"$out/machine.txt"

# The binaries the load runs and the per-call bench need.
step build "$cargo" build --release --locked -p sluice -p sluice-example-servers

# docs/BENCHMARKS.md, section by section.
step sandbox-execute "$cargo" bench --locked -p sandbox-host --bench execute "${criterion[@]}"
step detectors-throughput "$cargo" bench --locked -p detectors --bench throughput "${criterion[@]}"
step detectors-accuracy "$cargo" test --locked -p detectors --test accuracy -- --nocapture
step detectors-heldout "$cargo" test --locked -p detectors --test heldout -- --nocapture
step vault-bench "$cargo" bench --locked -p sluice --bench vault "${criterion[@]}"
step vault-timing "$cargo" test --release --locked -p sluice --lib vault::tests::measure_mint_and_resolve -- --ignored --nocapture
step policy "$cargo" bench --locked -p sluice --bench policy "${criterion[@]}"
step search "$cargo" bench --locked -p sluice --bench search "${criterion[@]}"
step call "$cargo" bench --locked -p sluice --bench call
step call-parts "$cargo" bench --locked -p sluice --bench call_parts "${criterion[@]}"
step fronts "$cargo" bench --locked -p sluice --bench fronts
json_step load-grpc "$sluice" bench load --json --program tool "${load_grpc[@]}"
json_step load-mcp "$sluice" bench load --json --program tool "${load_mcp[@]}"
json_step soak "$sluice" bench load --json --program tool "${soak[@]}"
json_step paced "$sluice" bench load --json --program tool "${paced[@]}"

echo "finished: $(date -u +%FT%TZ)" >>"$out/machine.txt"
echo
echo "bench-all$suffix: $(($(date +%s) - started_all)) s; results in $out"
column -t -s $'\t' "$out/summary.tsv" 2>/dev/null || cat "$out/summary.tsv"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
