#!/usr/bin/env bash
# Sanitizer runs, outside CI (docs/RELIABILITY.md says why and holds the results):
#
#   tests/sanitize/run.sh asan [SECONDS [CTEST ARGS]]   # preset asan (clang, ASan + UBSan over all of our
#                                          # code): the whole ctest suite, then each LibTorch-side
#                                          # fuzz target for SECONDS (default 300; 0: the suite
#                                          # only). CTEST ARGS select tests: -R "test_train"
#   tests/sanitize/run.sh tsan             # preset tsan: ThreadSanitizer over the studio tests
#                                          # (the window, both workers, the snapshot slot), on
#                                          # TSan builds of Qt and QCustomPlot
#                                          # (tests/sanitize/build-qt-tsan.sh)
#
# LibTorch is the installed build, not instrumented: ASan still checks every access our
# code makes, UBSan our arithmetic; for TSan see tests/sanitize/tsan.supp.
# Logs: build-asan/sanitize-ctest.log, build-tsan/sanitize-tsan.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
mode=${1:?usage: tests/sanitize/run.sh asan [SECONDS [CTEST ARGS]] | tsan}

case "$mode" in
asan)
  seconds=${2:-300}
  [ -f build-asan/build.ninja ] || cmake --preset asan >/dev/null
  cmake --build --preset asan
  # Every report, also from the latent-cli processes that tests start (whose stderr the
  # test keeps), is written to build-asan/sanitizer-logs/: the run is clean when it is empty.
  logs=$root/build-asan/sanitizer-logs
  rm -rf "$logs" && mkdir -p "$logs"
  export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=0:log_path=$logs/asan
  export LSAN_OPTIONS=suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/sanitize/ubsan.supp:log_path=$logs/ubsan
  status=0
  (cd build-asan && ctest --output-on-failure -j 2 --timeout 1500 "${@:3}") >build-asan/sanitize-ctest.log 2>&1 || status=$?
  tail -n 5 build-asan/sanitize-ctest.log
  if [ -n "$(ls -A "$logs")" ]; then
    echo "asan: sanitizer reports in $logs:" >&2
    grep -h -E "ERROR: |runtime error:|SUMMARY" "$logs"/* | head -20 >&2
    exit 1
  fi
  [ "$status" -eq 0 ] || exit "$status"
  echo "asan: ctest clean, no sanitizer report"
  unset ASAN_OPTIONS UBSAN_OPTIONS  # tests/fuzz/run.sh sets its own
  if [ "$seconds" -gt 0 ]; then  # 0: the suite only
    FUZZ_BUILD=build-asan tests/fuzz/run.sh "$seconds" fuzz_model_config fuzz_hf_config fuzz_dmlp_json
  fi
  ;;
tsan)
  # Qt and QCustomPlot built with TSan (tests/sanitize/build-qt-tsan.sh), so that TSan
  # sees Qt's own synchronisation; LATENT_TSAN_QT=installed takes the installed Qt instead
  # (Qt's hand-overs are then reported as races: docs/RELIABILITY.md).
  qt=${LATENT_TSAN_QT:-$HOME/.cache/latent-studio/qt-tsan/qtbuild}
  if [ "$qt" = installed ]; then
    qt_dir=$(dirname "$(find /usr/lib /usr/lib64 -path '*/cmake/Qt6/Qt6Config.cmake' -print -quit)")
    prefix=()
  else
    [ -f "$qt/lib/cmake/Qt6/Qt6Config.cmake" ] ||
      { echo "tsan: no ThreadSanitizer build of Qt in $qt: run tests/sanitize/build-qt-tsan.sh" \
             "(about 30 minutes), or set LATENT_TSAN_QT=installed" >&2; exit 2; }
    qt_dir=$(cd "$qt/lib/cmake/Qt6" && pwd -P)
    prefix=(-DCMAKE_PREFIX_PATH="$(cd "$qt" && pwd -P)")
    # The TSan Qt and QCustomPlot by soname, ahead of the installed ones.
    export LD_LIBRARY_PATH=$qt/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
  # Reconfigure when build-tsan was made against the other Qt.
  if ! grep -q -x "Qt6_DIR:PATH=$qt_dir" build-tsan/CMakeCache.txt 2>/dev/null; then
    rm -f build-tsan/CMakeCache.txt
    cmake --preset tsan -DQt6_DIR:PATH="$qt_dir" "${prefix[@]}" >/dev/null
  fi
  cmake --build --preset tsan --target test_studio test_studio_explore test_studio_train test_studio_soak latent-cli default_corpus
  # Every report, also from the latent-cli processes that tests start, is written to
  # build-tsan/sanitizer-logs/ (tsan.PID): the run is clean when it is empty.
  logs=$root/build-tsan/sanitizer-logs
  rm -rf "$logs" && mkdir -p "$logs"
  export TSAN_OPTIONS="suppressions=$root/tests/sanitize/tsan.supp:halt_on_error=0:second_deadlock_stack=1:history_size=4:log_path=$logs/tsan"
  # LibTorch's intra-op threads (OpenMP, uninstrumented) synchronise in code TSan cannot see:
  # with them every kernel's memcpy is reported. One intra-op thread leaves the threads
  # that are ours: the window's, the inference worker's and the training worker's.
  export OMP_NUM_THREADS=1
  # The installed Qt starts programs through clone(CLONE_VFORK), on which clang 14's TSan
  # runtime fails an internal CHECK (tsan_rtl.cpp:234, in ForkAfter); with it, the functions
  # that start latent-cli or the studio (QProcess) run in the ordinary suites only. The TSan
  # build of Qt uses fork(), and runs them all.
  forking=""
  [ "$qt" = installed ] && forking="opensAModelConvertedFromDmlp opensARobertaEncoderModel
    opensConvertedDmlpModelsOfEachEncoderFamily trainingStartsFromAnImportedModel startupTimeIsReportedByTheBinary"
  log=build-tsan/sanitize-tsan.log
  : >"$log"
  status=0
  for t in test_studio test_studio_explore test_studio_train test_studio_soak; do
    functions=$( (cd build-tsan && TSAN_OPTIONS= QT_QPA_PLATFORM=offscreen tests/$t -functions 2>/dev/null || true) |
                sed 's/()$//' | grep -v -x -F -f <(tr ' ' '\n' <<<"$forking" | grep .) || true)
    echo "== $t" $functions | tee -a "$log"
    (cd build-tsan && QT_QPA_PLATFORM=offscreen QTEST_FUNCTION_TIMEOUT=1200000 tests/$t $functions) >>"$log" 2>&1 || status=1
    grep -E "^(Totals|FAIL)" "$log" | tail -1 || echo "$t: no totals (crashed?), see $log"
  done
  reports=$(cat "$logs"/* 2>/dev/null | grep -c "WARNING: ThreadSanitizer" || true)
  echo "tsan: $reports reports (in $logs), test functions: $([ "$status" -eq 0 ] && echo all passed || echo "some failed, see $log")"
  [ "$reports" -eq 0 ] && [ "$status" -eq 0 ]
  ;;
*)
  echo "usage: tests/sanitize/run.sh asan [SECONDS] | tsan" >&2
  exit 2
  ;;
esac
