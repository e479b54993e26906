#!/usr/bin/env bash
# The model families on CUDA, in one device run (see ../shared/gpu/README.md): builds the
# headless core + CLI, then for every encoder family imports a tiny model from the test
# fixtures (import-hf for RoBERTa, ALBERT and T5 folders; import-dmlp for the trained DMLP
# and Optimus fixtures), reconstructs the fixture sentences on the CPU and on CUDA (greedy:
# the same sentences are expected), and trains 20 steps on CUDA (bf16 autocast).
# Writes $OUT/families_cuda.json and the logs.
#   run with carry [".gpu-deps"]:  bash tools/gpu/check_families_cuda.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" /tmp/deps
for f in .gpu-deps/*.deb; do dpkg -x "$f" /tmp/deps; done
export LD_LIBRARY_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
TORCH_PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S . -B /tmp/b -G Ninja -DCMAKE_BUILD_TYPE=Release -DLATENT_BUILD_GUI=OFF -DLATENT_BUILD_TESTS=OFF \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;/tmp/deps/usr" -DCMAKE_CUDA_ARCHITECTURES=90 > "$OUT/cmake.log" 2>&1 || { tail -30 "$OUT/cmake.log"; exit 1; }
cmake --build /tmp/b -j16 > "$OUT/build.log" 2>&1 || { grep -m20 error "$OUT/build.log"; exit 1; }
cli=/tmp/b/bin/latent-cli
nvidia-smi -L > "$OUT/gpu.txt" 2>&1
python3 -c 'import json; [print(s) for s in json.load(open("tests/fixtures/dmlp/trained/greedy_sentences.json"))]' > /tmp/corpus.txt
fx=tests/fixtures
gpt2=$fx/dmlp/trained/gpt2
declare -A how=(
  [roberta-hf]="import-hf --encoder $fx/hf/tiny-roberta --decoder $gpt2 --preset tiny --latent 8"
  [albert-hf]="import-hf --encoder $fx/hf/tiny-albert --decoder $gpt2 --preset tiny --latent 8"
  [t5-hf]="import-hf --encoder $fx/hf/tiny-t5 --decoder $gpt2 --preset tiny --latent 8"
  [bert-dmlp]="import-dmlp --checkpoint $fx/dmlp/trained/export --encoder $fx/dmlp/trained/bert --decoder $gpt2"
  [bert-new-dmlp]="import-dmlp --checkpoint $fx/dmlp/trained-new/export --encoder $fx/dmlp/trained/bert --decoder $gpt2"
  [roberta-dmlp]="import-dmlp --checkpoint $fx/dmlp/trained-roberta/export --encoder $fx/hf/tiny-roberta --decoder $gpt2"
  [albert-dmlp]="import-dmlp --checkpoint $fx/dmlp/trained-albert/export --encoder $fx/hf/tiny-albert --decoder $gpt2"
  [t5-dmlp]="import-dmlp --checkpoint $fx/dmlp/trained-t5/export --encoder $fx/hf/tiny-t5 --decoder $gpt2"
  [optimus]="import-dmlp --checkpoint $fx/optimus/export --encoder $fx/dmlp/trained/bert --decoder $gpt2"
)
echo "{" > "$OUT/families_cuda.json"
first=1
for name in "${!how[@]}"; do
  m=/tmp/m-$name
  $cli ${how[$name]} --out "$m" > "$OUT/$name.import.log" 2>&1; imp=$?
  $cli reconstruct --model "$m" --device cpu --json < /tmp/corpus.txt > "$OUT/$name.cpu.json" 2> "$OUT/$name.cpu.err"
  $cli reconstruct --model "$m" --device cuda --json < /tmp/corpus.txt > "$OUT/$name.cuda.json" 2> "$OUT/$name.cuda.err"; rec=$?
  same=$(python3 -c "import json,sys
a=json.load(open('$OUT/$name.cpu.json')); b=json.load(open('$OUT/$name.cuda.json'))
ra=[r['output'] for r in a['reconstructions']]; rb=[r['output'] for r in b['reconstructions']]
print(sum(x==y for x,y in zip(ra,rb)), len(ra))" 2>/dev/null || echo "? ?")
  $cli train --init "$m" --corpus /tmp/corpus.txt --steps 20 --device cuda --out /tmp/r-$name > "$OUT/$name.train.log" 2>&1; tr=$?
  [ $first = 1 ] || echo "," >> "$OUT/families_cuda.json"; first=0
  set -- $same
  printf '"%s": {"import_rc": %d, "reconstruct_cuda_rc": %d, "same_greedy_cpu_cuda": "%s of %s", "train_cuda_rc": %d}' \
    "$name" "$imp" "$rec" "$1" "$2" "$tr" >> "$OUT/families_cuda.json"
done
echo "}" >> "$OUT/families_cuda.json"
cat "$OUT/gpu.txt" "$OUT/families_cuda.json"
