#!/usr/bin/env bash
# The seed designs side by side on the same data, steps and seed (docs/DESIGNS.md):
#   dmlp     DMLP: fixed posterior variance, the DDPM prior trained jointly (alpha_ddpm)
#   optimus  Optimus: learned posterior, its cyclical zero-then-linear beta, dim_target_kl
#            free bits (mask), length-weighted loss; the prior learns the latents detached
#   t5vae    t5-vae: 4 latent tokens (the encoder's first 4 positions through tanh), MMD against
#            N(0, I) on them with its warm-up; t5-vae has no reparameterisation: DMLP's small
#            fixed variance is the nearest; prior detached
#   davae    DAVAE: learned posterior, free bits (mask), the adversarial prior, Gaussian
#            noise on the encoder's embeddings, z added after every decoder layer; prior detached
# Each is `latent-cli train --preset small --design NAME` (the settings: core/model/designs.cpp;
# each run's last/config.json holds them resolved), then `latent-cli eval`. NAME@ARCH also
# switches the decoder family (--config {"model": {"decoder": {"arch": ARCH}}}), e.g.
# davae@davae: DAVAE's design on its own decoder (relative attention) instead of GPT-2's.
#
#   tools/designs/compare.sh OUT_DIR [STEPS] [DESIGN[@ARCH] ...]
# Environment: LATENT_CLI (default build/bin/latent-cli), CORPUS (default the build's
# WordNet train.txt), TEST (its test.txt), THREADS (default 2); LM, the LM judge's folder
# (default the SmolLM2 folder bootstrap assembles, when it is there; LM= to skip it);
# EVAL_ONLY=1 evaluates runs already in OUT_DIR without training them again (the time column
# then reads "-").
# Columns: design, training time, reconstruction BLEU (500 held-out sentences), active units,
# self-BLEU and uniqueness of 200 prior samples, the share of the samples' words found in the
# training corpus, the LM judge's perplexity of the samples / of the held-out sentences,
# interpolation smoothness (100 random pairs, 10-point paths: mean BLEU between consecutive
# points) and the share of those paths whose midpoint decodes to neither end.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:?usage: compare.sh OUT_DIR [STEPS] [DESIGN ...]}
steps=${2:-1500}
shift $(( $# >= 2 ? 2 : 1 ))
designs=("$@")
[ ${#designs[@]} -gt 0 ] || designs=(dmlp optimus t5vae davae)
cli=${LATENT_CLI:-$root/build/bin/latent-cli}
corpus=${CORPUS:-$root/build/resources/corpus/train.txt}
test=${TEST:-$root/build/resources/corpus/test.txt}
lm=${LM-${LATENT_CACHE:-$HOME/.cache/latent-studio}/models/smollm2-135m-instruct}
lm_args=()
[ -n "$lm" ] && [ -f "$lm/config.json" ] && lm_args=(--lm "$lm")
mkdir -p "$out"

for d in "${designs[@]}"; do
  start=$(date +%s)
  extra=()
  if [[ $d == *@* ]]; then
    printf '{"model": {"decoder": {"arch": "%s"}}}\n' "${d#*@}" > "$out/$d.arch.json"
    extra=(--config "$out/$d.arch.json")
  fi
  secs=-
  if [ "${EVAL_ONLY:-0}" != 1 ]; then
    "$cli" train --corpus "$corpus" --out "$out/$d" --preset small --design "${d%@*}" "${extra[@]}" --steps "$steps" \
      --seed 1 --threads "${THREADS:-2}" > "$out/$d.train.log" 2>&1
    secs=$(( $(date +%s) - start ))
  fi
  "$cli" eval --model "$out/$d" --corpus "$test" --limit 500 --samples 200 --interpolations 100 "${lm_args[@]}" \
    --json > "$out/$d.eval.json"
  "$cli" sample --model "$out/$d" --n 5 --seed 3 > "$out/$d.samples.txt"
  "$cli" reconstruct --model "$out/$d" "my grandmother baked bread every sunday morning" \
    --paraphrases 3 --std-scale 1 > "$out/$d.reconstruct.txt"
  python3 - "$d" "$secs" "$out/$d.eval.json" <<'PY'
import json, sys
d, secs, path = sys.argv[1], sys.argv[2], sys.argv[3]
e = json.load(open(path))
words = e["corpus_words"]["samples"]["words"] if e.get("corpus_words") else float("nan")
lm = f"{e['lm']['ppl_samples']:.0f} / {e['lm']['ppl_heldout']:.0f}" if e.get("lm") else "-"
i = e["interpolation"]
print(f"| {d} | {secs + ' s' if secs != '-' else '-'} | {e['bleu']:.1f} | {e['active_units']} | {e['self_bleu']:.1f} | {e['unique']:.2f} | "
      f"{100 * words:.1f} % | {lm} | {i['consecutive_bleu']:.1f} | {100 * i['midpoint_neither']:.0f} % |")
PY
done
