#!/usr/bin/env bash
# Creates (or reuses) the venv that runs DMLP, the Python reference of bench/compare.py.
#
#   bench/setup.sh          install or update; prints the venv's python path on stdout
#
# The venv lives outside the clone, at ${LATENT_CACHE:-~/.cache/latent-studio}/bench-venv, apart
# from the torch venv of the C++ build (DMLP needs transformers 4.36.2, which the studio never
# imports). It is reinstalled only when bench/requirements.txt changed: the stamp file holds the
# sha256 of the requirements it was installed from. Idempotent.
# Environment: LATENT_CACHE (default ~/.cache/latent-studio); LATENT_BENCH_PYTHON, the interpreter
# the venv is made from (default python3; it must be 3.10 to 3.12: torch 2.11 needs 3.10 or later,
# numpy 1.26, which transformers 4.36 was written for, has wheels up to 3.12).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${LATENT_CACHE:-$HOME/.cache/latent-studio}
venv=$cache/bench-venv
req=$root/bench/requirements.txt
stamp=$venv/.latent-bench-requirements.sha256
base_python=${LATENT_BENCH_PYTHON:-python3}

say() { printf '[latent-bench] %s\n' "$*" >&2; }

want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  say "bench venv $venv: up to date"
else
  if [ ! -x "$venv/bin/python" ]; then
    if ! "$base_python" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))'; then
      say "$base_python is Python $("$base_python" -c 'import platform; print(platform.python_version())'): the pins need 3.10 to 3.12 (set LATENT_BENCH_PYTHON)"
      exit 1
    fi
    say "creating bench venv $venv"
    mkdir -p "$cache"
    "$base_python" -m venv "$venv"
  fi
  say "installing into $venv: $(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$req" | tr '\n' ' ')(torch is a large download the first time)"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  # Fail here, not in the middle of a benchmark, if DMLP cannot be imported with these pins.
  "$venv/bin/python" -W ignore::FutureWarning -c 'import DMLP.models.models, DMLP.models.my_transformers, DMLP.utils.sample, DMLP.train'
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
