#!/usr/bin/env bash
# Builds the fuzz targets (cmake preset `fuzz`: clang, libFuzzer, ASan + UBSan) and runs
# each for SECONDS (default 30), two at a time, from the committed seeds plus what earlier
# runs found (build-fuzz/corpus/). Fails on any crash, sanitizer report, leak, timeout
# (10 s per input) or out-of-memory (-rss_limit_mb=2048; one allocation > 2 GB counts too).
# Prints one line per target: executions, executions per second, corpus size.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      # CI: tests/fuzz/run.sh 30
# A crash leaves build-fuzz/artifacts/<target>/crash-*; reproduce with
#   build-fuzz/fuzz/<target> build-fuzz/artifacts/<target>/crash-...
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
shift || true
# FUZZ_BUILD=build-asan: the LibTorch-side targets of the asan preset (tests/sanitize/run.sh).
export FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
if [ "$FUZZ_BUILD" = build-fuzz ]; then
  if [ ! -f build-fuzz/build.ninja ]; then cmake --preset fuzz >/dev/null; fi
  cmake --build --preset fuzz >/dev/null
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(sed -n '/^set(LATENT_FUZZ_TARGETS/,/^)/p' tests/fuzz/targets.cmake | grep -o 'fuzz_[a-z_]*'))
fi

run_one() {
  local t=$1 seconds=$2
  local work=$FUZZ_BUILD/corpus/$t art=$FUZZ_BUILD/artifacts/$t log=$FUZZ_BUILD/logs/$t.log
  mkdir -p "$work" "$art" "$FUZZ_BUILD"/logs
  rm -f "$art"/*
  local rc=0
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    "$FUZZ_BUILD"/fuzz/"$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$art/" "$work" tests/fuzz/corpus/"$t" >"$log" 2>&1 || rc=$?
  local execs rate size
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  size=$(ls "$work" | wc -l)
  if [ "$rc" -ne 0 ]; then
    echo "FAIL $t (exit $rc): see $log"
    grep -E "ERROR|SUMMARY|escaped|Test unit written" "$log" | head -8 | sed 's/^/     /'
    return 1
  fi
  printf '%-26s %10s executions %8s/s %6s corpus files, 0 crashes\n' "$t" "${execs:-?}" "${rate:-?}" "$size"
}
export -f run_one

failed=0
printf '%s\n' "${targets[@]}" | xargs -P 2 -I{} bash -c 'run_one "$@"' _ {} "$seconds" || failed=1
if [ "$failed" -ne 0 ]; then
  echo "fuzz: a target failed" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, no crash"
