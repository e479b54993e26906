#!/usr/bin/env bash
# Llama-family greedy decoding, ours against transformers' generate, side by side on the same
# weights and prompts (CPU, fp32, 32 new tokens, batch 1 and 32):
#
#   bench/llama_generate.sh [MODEL_DIR] [THREADS]
#
# MODEL_DIR: a converted folder (default: set-up's SmolLM2, $LATENT_CACHE/models/smollm2-135m-instruct).
# The reference runs in the llama venv (transformers 4.46.3: bench/llama_generate.py says how to
# make it); ours is build/bin/latent-cli bench lm-generate, in fp32, then at batch 1 with fp16 weight
# copies (--decode-weights float16), then at batch 1 reading the GGUF's own blocks
# (--decode-weights gguf-blocks; lossless). Prints one JSON line per run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${LATENT_CACHE:-$HOME/.cache/latent-studio}
model=${1:-$cache/models/smollm2-135m-instruct}
threads=${2:-2}
py=${LATENT_LLAMA_PYTHON:-$cache/llama-venv/bin/python}
cli=${LATENT_CLI:-$root/build/bin/latent-cli}
prompts=$(mktemp --suffix=.json)
trap 'rm -f "$prompts"' EXIT
"$py" "$root/bench/llama_generate.py" "$model" --threads "$threads" --batch 1,32 --repeats 3 --prompts-out "$prompts"
"$cli" bench lm-generate --lm "$model" --prompts "$prompts" --threads "$threads" --batch 1,32 --reps 3 --warmup 1 --json
# ours with fp16 weight copies for few-row calls (decoder.cpu_decode_weights; batch 32 stays fp32)
"$cli" bench lm-generate --lm "$model" --prompts "$prompts" --threads "$threads" --batch 1 --reps 3 --warmup 1 --json \
  --decode-weights float16
# ours reading the weights as the GGUF's Q4_1 / Q8_0 blocks they are (lossless; batch 32 stays fp32)
"$cli" bench lm-generate --lm "$model" --prompts "$prompts" --threads "$threads" --batch 1 --reps 3 --warmup 1 --json \
  --decode-weights gguf-blocks
