#!/usr/bin/env bash
# The seed designs side by side on the same data, steps and seed (docs/DESIGNS.md):
#   dmlp     DMLP: fixed posterior variance, the DDPM prior trained jointly (alpha_ddpm)
#   optimus  Optimus: learned posterior, its cyclical zero-then-linear beta, dim_target_kl
#            free bits (mask), length-weighted loss; the prior learns the latents detached
#   t5vae    t5-vae's MMD against N(0, I) on z (one latent token: n > 1 is not built yet); t5-vae
#            has no reparameterisation: DMLP's small fixed variance is the nearest; prior detached
#   davae    DAVAE: learned posterior, free bits (mask), the adversarial prior, Gaussian
#            noise on the encoder's embeddings, z added after every decoder layer; prior detached
# Each is `latent-cli train --preset small` with the design's JSON on top, then `latent-cli eval`.
#
#   tools/designs/compare.sh OUT_DIR [STEPS] [DESIGN ...]
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

config() {
  local detached='"train": {"ddpm_detach_steps": 1000000000}'
  case $1 in
    dmlp) echo '{}' ;;
    optimus) echo '{"model": {"posterior": "learned", "kl_schedule": "optimus", "kl_anneal_steps": '"$steps"',
                  "kl_cycles": 1, "kl_ratio_zero": 0.25, "kl_ratio_increase": 0.25, "kl_weight": 1.0,
                  "free_bits": 0.5, "free_bits_mode": "mask"}, '"$detached"'}' ;;
    t5vae) echo '{"model": {"posterior": "fixed", "regularizer": "mmd", "regularizer_weight": 1.0}, '"$detached"'}' ;;
    davae) echo '{"model": {"posterior": "learned", "kl_schedule": "constant", "kl_weight": 1.0, "free_bits": 0.5,
                "free_bits_mode": "mask", "regularizer": "adversarial", "regularizer_weight": 1.0,
                "encoder": {"embedding_noise": 0.1}, "decoder": {"latent_every_layer": true}}, '"$detached"'}' ;;
    *) echo "unknown design $1 (dmlp, optimus, t5vae, davae)" >&2; return 1 ;;
  esac
}

for d in "${designs[@]}"; do
  config "$d" > "$out/$d.json"
  start=$(date +%s)
  "$cli" train --corpus "$corpus" --out "$out/$d" --preset small --config "$out/$d.json" --steps "$steps" \
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
