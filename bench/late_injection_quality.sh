#!/usr/bin/env bash
# Late injection's quality at equal wall-clock: the pretrained recipe trained for MINUTES with z in
# every block (K = 0, the preset's recipe) and with z from block K, one run after the other, each
# stopped by SIGINT (the trainer then evaluates and saves last/), then scored the same way:
# reconstruction BLEU of the first 300 sentences of the default corpus's test.txt, and six of
# them decoded, to read.
#
#   bench/late_injection_quality.sh OUT [MINUTES] [K...]     e.g. bench/late_injection_quality.sh /tmp/lq 20 15
#
# Starting folders: those bench/late_injection.py makes (${LATENT_CACHE:-~/.cache/latent-studio}/bench/
# pretrained-init and late-K); run it first. Results: OUT/K/ (the run), OUT/K.eval.json, OUT/K.reconstructions.txt.
# Nothing else may run meanwhile: the runs are compared by the steps they reach in the same time.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${LATENT_CACHE:-$HOME/.cache/latent-studio}
build=${LATENT_BUILD_DIR:-$root/build}
cli=$build/bin/latent-cli
corpus=$build/resources/corpus
out=${1:?usage: late_injection_quality.sh OUT [MINUTES] [K...]}
minutes=${2:-20}
shift $(( $# >= 2 ? 2 : $# ))
blocks=(0 "${@:-15}")
mkdir -p "$out"
head -n 300 "$corpus/test.txt" > "$out/test300.txt"
head -n 6 "$corpus/test.txt" > "$out/test6.txt"
for k in "${blocks[@]}"; do
  if [ "$k" = 0 ]; then init=$cache/bench/pretrained-init; else init=$cache/bench/late-$k; fi
  [ -f "$init/config.json" ] || { echo "no $init: run bench/late_injection.py --from-blocks $k first" >&2; exit 1; }
  rm -rf "${out:?}/$k"
  echo '{"train": {"eval_every": 0, "eval_sentences": 200, "eval_samples": 0, "log_every": 10}}' > "$out/train.json"
  echo "K=$k: training for $minutes minutes from $init" >&2
  # SIGINT at the time limit: the trainer stops after its step, evaluates and saves last/.
  timeout -s INT "$((minutes * 60))" "$cli" train --init "$init" --preset pretrained --corpus "$corpus/train.txt" \
    --valid "$corpus/valid.txt" --out "$out/$k" --config "$out/train.json" --threads 2 > "$out/$k.train.log" 2>&1 || true
  grep -q '"status":"stopped"' "$out/$k/metrics.jsonl" || { echo "K=$k: the run did not stop cleanly (see $out/$k.train.log)" >&2; exit 1; }
  "$cli" eval --model "$out/$k/last" --corpus "$out/test300.txt" --limit 300 --samples 0 --json > "$out/$k.eval.json"
  "$cli" reconstruct --model "$out/$k/last" < "$out/test6.txt" > "$out/$k.reconstructions.txt"
  steps=$(grep '"type":"end"' "$out/$k/metrics.jsonl" | sed 's/.*"step":\([0-9]*\).*/\1/')
  echo "K=$k: $steps steps; $(cat "$out/$k.eval.json")" >&2
done
