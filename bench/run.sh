#!/usr/bin/env bash
# The whole comparison from a fresh checkout, in one command:
#   bench/run.sh [compare.py options]      e.g. bench/run.sh --device cuda --preset dmlp
# Builds latent-cli (packaging/bootstrap.sh build: apt packages, the torch venv, CMake),
# makes the DMLP venv (bench/setup.sh), then runs bench/compare.py with the options given.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
packaging/bootstrap.sh build
python=$(bench/setup.sh)
build=${LATENT_BUILD_DIR:-$root/build}
exec python3 bench/compare.py --python "$python" --cli "$build/bin/latent-cli" --model "$build/resources/models/default" "$@"
