#!/usr/bin/env bash
# CI smoke run of the cargo-fuzz targets (docs/fuzzing.md): builds every target and runs
# each one briefly from its committed seeds. It catches targets that no longer build, seeds
# that crash again, and shallow new bugs; the long runs are done by hand.
#
#   scripts/fuzz-smoke.sh            # every target, FUZZ_SMOKE_SECONDS (default 20) each
#   FUZZ_SMOKE_SECONDS=600 scripts/fuzz-smoke.sh detectors_text
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SMOKE_SECONDS:-20}
# Safe Rust: coverage-guided fuzzing with debug assertions finds panics and broken
# properties; AddressSanitizer would add build and run time for little (docs/fuzzing.md).
sanitizer=${FUZZ_SANITIZER:-none}
# cargo-fuzz passes nightly-only flags to rustc; the pinned toolchain is stable.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: installing cargo-fuzz"
  # Exit 3 (not 1) when the tool itself cannot be installed: .ci/run reports that as a
  # skipped smoke instead of a failure of the project.
  cargo install cargo-fuzz --locked --version 0.13.2 || exit 3
fi
# libfuzzer-sys compiles libFuzzer's C++ with `c++`; `make setup` installs clang.
if ! command -v c++ >/dev/null 2>&1 && command -v clang++ >/dev/null 2>&1; then
  export CXX=clang++
fi
# The fuzz crate is its own workspace: `make lint` does not see it.
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
# cargo-fuzz has no --locked; refuse a fuzz/Cargo.lock that would need changes.
cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null

start=$(date +%s)
cargo fuzz build -s "$sanitizer"
echo "fuzz-smoke: built in $(( $(date +%s) - start ))s"

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
work=$(mktemp -d)
export TMPDIR="$work"  # the placeholders target keeps a scratch vault here
trap 'rm -rf "$work"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  echo "fuzz-smoke: $target for ${seconds}s"
  # New inputs go to the scratch corpus; the seeds are only read.
  log="$work/$target.log"
  dict=()
  [ -f "fuzz/dicts/$target.dict" ] && dict=(-dict="$PWD/fuzz/dicts/$target.dict")
  status=0
  cargo fuzz run -s "$sanitizer" "$target" "$work/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
    >"$log" 2>&1 || status=$?
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 80 "$log" >&2
    echo "fuzz-smoke: $target FAILED (the input is in fuzz/artifacts/$target)" >&2
    exit 1
  fi
done
du -sh fuzz/target 2>/dev/null || true
echo "fuzz-smoke: done in $(( $(date +%s) - start ))s"
