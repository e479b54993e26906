#!/usr/bin/env bash
# Creates (or reuses) the venv that runs bench/pretrained_reference.py, the transformers + PEFT
# reference of the pretrained recipe's training step.
#
#   bench/setup_reference.sh    install or update; prints the venv's python path on stdout
#
# The venv lives outside the clone, at ${LATENT_CACHE:-~/.cache/latent-studio}/reference-venv,
# apart from the torch venv of the C++ build and from DMLP's bench venv (bench/setup.sh: its
# transformers 4.36.2 has no PEFT that runs on torch 2.11). It is reinstalled only when
# bench/requirements-reference.txt changed: the stamp file holds the sha256 of the requirements
# it was installed from. Idempotent.
# Environment: LATENT_CACHE (default ~/.cache/latent-studio); LATENT_BENCH_PYTHON, the interpreter
# the venv is made from (default python3; 3.10 to 3.12: torch 2.11 needs 3.10 or later, the pins
# are releases of late 2024).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${LATENT_CACHE:-$HOME/.cache/latent-studio}
venv=$cache/reference-venv
req=$root/bench/requirements-reference.txt
stamp=$venv/.latent-reference-requirements.sha256
base_python=${LATENT_BENCH_PYTHON:-python3}

say() { printf '[latent-reference] %s\n' "$*" >&2; }

want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  say "reference venv $venv: up to date"
else
  if [ ! -x "$venv/bin/python" ]; then
    if ! "$base_python" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))'; then
      say "$base_python is Python $("$base_python" -c 'import platform; print(platform.python_version())'): the pins need 3.10 to 3.12 (set LATENT_BENCH_PYTHON)"
      exit 1
    fi
    say "creating reference venv $venv"
    mkdir -p "$cache"
    "$base_python" -m venv "$venv"
  fi
  say "installing into $venv: $(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$req" | tr '\n' ' ')(torch is a large download the first time)"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  # Fail here, not in the middle of a benchmark, if the reference cannot be imported with these pins.
  "$venv/bin/python" -W ignore -c 'import psutil, torch, transformers, peft
from transformers import BertModel, LlamaForCausalLM
from transformers.models.llama.modeling_llama import LlamaDecoderLayer
from transformers.cache_utils import DynamicCache
from peft import LoraConfig, get_peft_model'
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
