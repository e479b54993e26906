#!/usr/bin/env bash
# Sanitizer runs, outside CI (docs/RELIABILITY.md says why and holds the results):
#
#   tests/sanitize/run.sh asan [SECONDS]   # preset asan (clang, ASan + UBSan over all of our
#                                          # code): the whole ctest suite, then each LibTorch-side
#                                          # fuzz target for SECONDS (default 300)
#   tests/sanitize/run.sh tsan             # preset tsan: ThreadSanitizer over the studio tests
#                                          # (the window, both workers, the snapshot slot)
#
# LibTorch and Qt are the installed builds, not instrumented: ASan still checks every
# access our code makes, UBSan our arithmetic; for TSan see tests/sanitize/tsan.supp.
# Logs: build-asan/sanitize-ctest.log, build-tsan/sanitize-tsan.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
mode=${1:?usage: tests/sanitize/run.sh asan [SECONDS] | tsan}

case "$mode" in
asan)
  seconds=${2:-300}
  [ -f build-asan/build.ninja ] || cmake --preset asan >/dev/null
  cmake --build --preset asan
  export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0
  export LSAN_OPTIONS=suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/sanitize/ubsan.supp
  # Sanitizer reports go to stderr, which ctest keeps for failed tests; any report fails its test.
  (cd build-asan && ctest --output-on-failure -j 2 --timeout 1500) 2>&1 | tee build-asan/sanitize-ctest.log
  status=${PIPESTATUS[0]}
  if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" build-asan/sanitize-ctest.log >/dev/null; then
    echo "asan: a sanitizer report (see build-asan/sanitize-ctest.log)" >&2
    exit 1
  fi
  [ "$status" -eq 0 ] || exit "$status"
  FUZZ_BUILD=build-asan tests/fuzz/run.sh "$seconds" fuzz_model_config fuzz_hf_config fuzz_dmlp_json
  ;;
tsan)
  [ -f build-tsan/build.ninja ] || cmake --preset tsan >/dev/null
  cmake --build --preset tsan --target test_studio test_studio_train test_studio_soak latent-cli default_corpus
  export TSAN_OPTIONS="suppressions=$root/tests/sanitize/tsan.supp:halt_on_error=0:second_deadlock_stack=1:history_size=4"
  log=build-tsan/sanitize-tsan.log
  : >"$log"
  status=0
  for t in test_studio test_studio_train test_studio_soak; do
    echo "== $t" | tee -a "$log"
    (cd build-tsan && QT_QPA_PLATFORM=offscreen QTEST_FUNCTION_TIMEOUT=1200000 tests/$t) >>"$log" 2>&1 || status=1
    grep -E "^(Totals|FAIL)" "$log" | tail -1
  done
  reports=$(grep -c "WARNING: ThreadSanitizer" "$log" || true)
  echo "tsan: $reports reports (see $log)"
  [ "$reports" -eq 0 ] && [ "$status" -eq 0 ]
  ;;
*)
  echo "usage: tests/sanitize/run.sh asan [SECONDS] | tsan" >&2
  exit 2
  ;;
esac
