#!/usr/bin/env python3
"""How our training step grows with batch size, sentence length and CPU threads.

Runs `latent-cli bench train` over a grid and prints a Markdown table (step time,
sentences/s, tokens/s, peak resident memory). Ours only: the DMLP comparison is compare.py.

    python3 bench/scaling.py [--cli build/bin/latent-cli] [--preset small] [--device cpu]
"""
import argparse
import json
import subprocess
import sys


def run(cli, preset, device, batch, length, threads, reps, warmup):
    cmd = [cli, "bench", "train", "--preset", preset, "--device", device, "--batch", str(batch), "--length", str(length),
           "--reps", str(reps), "--warmup", str(warmup), "--json"]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cli", default="build/bin/latent-cli")
    p.add_argument("--preset", default="small")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batches", default="16,32,64,128")
    p.add_argument("--lengths", default="10,20,40")
    p.add_argument("--threads", default="1,2", help="thread counts tried at batch 64, length 20 (CPU)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    a = p.parse_args()

    print(f"| batch | length (tokens + BOS/EOS) | threads | step ms (median) | sentences/s | tokens/s | peak RSS MiB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    grid = [(int(b), int(l), 0) for l in a.lengths.split(",") for b in a.batches.split(",")]
    if a.device == "cpu":
        grid += [(64, 20, int(t)) for t in a.threads.split(",")]
    for batch, length, threads in grid:
        try:
            j = run(a.cli, a.preset, a.device, batch, length, threads, a.reps, a.warmup)
        except subprocess.CalledProcessError as e:
            print(f"| {batch} | {length} | {threads or '-'} | error: {e.stderr.strip()[:80]} | | | |")
            continue
        sps = j["sentences_per_sec"]["median"]
        print(f"| {batch} | {length} | {j['threads']} | {j['step_ms']['median']:.1f} | {sps:.1f} | "
              f"{sps * (length + 2):.0f} | {j['peak_rss_mb']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
