#!/usr/bin/env python3
"""Converts a Hugging Face folder's pytorch_model.bin (a pickle C++ cannot read safely)
to model.safetensors beside it, which latent-cli and the studio load.

    python3 tools/hf/convert_bin_to_safetensors.py DIR [DIR...]

Needs torch and safetensors (the build's venv has both: ~/.cache/latent-studio/torch-venv).
Tensors that share storage (GPT-2's tied lm_head/wte) are written once under the first
name, as transformers' save_pretrained does; the file is written atomically and an
existing model.safetensors is left alone unless --force is given.
"""
import argparse
import os
import sys

import torch
from safetensors.torch import save_file


def convert(folder, force):
    src = os.path.join(folder, "pytorch_model.bin")
    dst = os.path.join(folder, "model.safetensors")
    if not os.path.exists(src):
        raise SystemExit(f"error: {src}: missing")
    if os.path.exists(dst) and not force:
        print(f"{dst}: exists, left alone (--force to overwrite)")
        return
    state = torch.load(src, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SystemExit(f"error: {src}: not a state dict of tensors")
    seen, tensors = {}, {}
    for name, t in state.items():
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
        if key in seen:
            print(f"  {name}: shares storage with {seen[key]}, not written again")
            continue
        seen[key] = name
        tensors[name] = t.contiguous().clone()
    tmp = dst + ".partial"
    save_file(tensors, tmp, metadata={"format": "pt"})
    os.replace(tmp, dst)
    print(f"{dst}: {len(tensors)} tensors")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dirs", nargs="+")
    p.add_argument("--force", action="store_true")
    a = p.parse_args()
    for d in a.dirs:
        convert(d, a.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
