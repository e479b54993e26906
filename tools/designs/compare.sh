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
# WordNet train.txt), TEST (its test.txt), THREADS (default 2).
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
mkdir -p "$out"

for d in "${designs[@]}"; do
  start=$(date +%s)
  extra=()
  if [[ $d == *@* ]]; then
    printf '{"model": {"decoder": {"arch": "%s"}}}\n' "${d#*@}" > "$out/$d.arch.json"
    extra=(--config "$out/$d.arch.json")
  fi
  "$cli" train --corpus "$corpus" --out "$out/$d" --preset small --design "${d%@*}" "${extra[@]}" --steps "$steps" \
    --seed 1 --threads "${THREADS:-2}" > "$out/$d.train.log" 2>&1
  secs=$(( $(date +%s) - start ))
  "$cli" eval --model "$out/$d" --corpus "$test" --limit 500 --samples 200 --json > "$out/$d.eval.json"
  "$cli" sample --model "$out/$d" --n 5 --seed 3 > "$out/$d.samples.txt"
  "$cli" reconstruct --model "$out/$d" "my grandmother baked bread every sunday morning" \
    --paraphrases 3 --std-scale 1 > "$out/$d.reconstruct.txt"
  python3 - "$d" "$secs" "$out/$d.eval.json" <<'PY'
import json, sys
d, secs, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
e = json.load(open(path))
print(f"| {d} | {secs} s | {e['bleu']:.1f} | {e.get('active_units', float('nan'))} | {e['self_bleu']:.1f} | "
      f"{e['unique']:.2f} | {e['novelty']} |")
PY
done
