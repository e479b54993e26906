#!/usr/bin/env bash
# Issue 12's targets for a model folder, as its MODEL_CARD.md reports them:
#   eval on 1,000 held-out test sentences and 200 DDPM samples with the LM judge (SmolLM2),
#   recorded into MODEL/eval.json; bench latency (1-sentence reconstruct, 10-point
#   interpolation, p95); the studio's cold start to a usable window on this model.
#
#   tools/default_model/measure.sh MODEL [OUT_DIR]
#
# Run it with the machine otherwise idle. Writes OUT_DIR/{eval,latency}.json and
# OUT_DIR/startup.txt (default /tmp/measure).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${LATENT_CACHE:-$HOME/.cache/latent-studio}
build=${LATENT_BUILD_DIR:-$root/build}
model=${1:?usage: measure.sh MODEL [OUT_DIR]}
out=${2:-/tmp/measure}
corpus=$build/resources/corpus
mkdir -p "$out"
"$build/bin/latent-cli" eval --model "$model" --corpus "$corpus/test.txt" --limit 1000 --samples 200 \
  --lm "$cache/models/smollm2-135m-instruct" --record --json > "$out/eval.json"
"$build/bin/latent-cli" bench latency --model "$model" --reps 30 --json > "$out/latency.json"
# Cold start: a fresh settings folder, the model given as the last one used; three runs.
for i in 1 2 3; do
  cfg=$(mktemp -d)
  mkdir -p "$cfg/LatentStudio"
  printf '[model]\nlast=%s\n' "$(cd "$model" && pwd)" > "$cfg/LatentStudio/Latent Studio.conf"
  XDG_CONFIG_HOME=$cfg xvfb-run -a -s "-screen 0 1400x900x24" "$build/bin/latent-studio" --startup-time 2>/dev/null |
    grep -E 'usable|error' >> "$out/startup.txt"
  rm -rf "$cfg"
done
cat "$out/startup.txt"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
e = json.load(open(out + "/eval.json"))
l = json.load(open(out + "/latency.json"))
print(json.dumps({"bleu": e["bleu"], "n": e["n"], "corpus_words": e.get("corpus_words"), "self_bleu": e["self_bleu"],
                  "lm": e.get("lm"), "latency": l}, indent=1))
PY
