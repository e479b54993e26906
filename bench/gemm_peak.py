#!/usr/bin/env python3
"""The pretrained recipe's matrix products alone: this machine's fp32 GEMM rate at the step's
own shapes, the step's multiply-adds, and the fraction of that rate a measured step achieves.

    ~/.cache/latent-studio/torch-venv/bin/python bench/gemm_peak.py --model INIT \\
        --sentences-per-sec 19.4 [--batch 16] [--dec-tokens 8.4] [--enc-tokens 9.4] [--threads 2]

INIT is an `import-hf --preset pretrained` folder (bench/pretrained_compare.py makes one): its
config.json gives the shapes. --dec-tokens / --enc-tokens are the padded positions per sentence
on each side (WordNet examples with SmolLM2's tokenizer: 9.1 tokens with BOS and EOS, 9.4
padded in length-bucketed batches of 16, so 8.4 decoder input positions; MiniLM's WordPiece:
9.1 with [CLS] and [SEP], 9.4 padded when sorted by its own length, so --enc-tokens 9.4 is a
slight undercount in batches sorted by the decoder's length; measured on 3,000 sentences). The products are those of LibTorch's at::matmul (torch's, the same libtorch_cpu and MKL
as latent-cli), timed back to back after a warm-up. Counted per decoder position: every block's
q, k, v, o, gate, up and down projections and the tied head, forward and again backward for
the input gradient (the decoder is frozen, but z's slot in every block needs the gradient all
the way down), plus the weight gradient of the extra first block; per encoder position: the
forward of all 6 layers, and input and weight gradients of the 3 that train. Attention scores,
adapters (rank 8), norms and elementwise work are left out: they are not GEMMs of this size.
Prints one JSON object.
"""
import argparse
import json
import os
import time

import torch


def rate(m, k, n, seconds=0.5):
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(3):
        a @ b
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    dt = (time.perf_counter() - t0) / reps
    return dt, 2.0 * m * k * n / dt / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--sentences-per-sec", type=float, required=True, help="a measured training rate of the recipe")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--dec-tokens", type=float, default=8.4)
    ap.add_argument("--enc-tokens", type=float, default=9.4)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(os.path.join(a.model, "config.json")))["model"]
    d, e = cfg["decoder"], cfg["encoder"]
    h, inter, blocks = d["hidden"], d["intermediate"], d["layers"]
    kv = h // d["heads"] * d["kv_heads"]
    extra_inter = h * d.get("extra_block_mlp_ratio", 4)
    vocab = cfg["tokenizer"]["vocab_size"]
    eh, einter, elayers = e["hidden"], e["intermediate"], e["layers"]
    etrain = 3  # preset pretrained: embeddings and layers 0-2 frozen
    md = round(a.batch * a.dec_tokens)
    me = round(a.batch * a.enc_tokens)

    # (m, k, n, count) of the step: forward products and, transposed, their input gradients.
    block = [(h, h), (h, kv), (h, kv), (h, h), (h, inter), (h, inter), (inter, h)]
    extra = [(h, h), (h, kv), (h, kv), (h, h), (h, extra_inter), (h, extra_inter), (extra_inter, h)]
    layer = [(eh, eh), (eh, eh), (eh, eh), (eh, eh), (eh, einter), (einter, eh)]
    products = []
    for k, n in block:
        products += [(md, k, n, blocks), (md, n, k, blocks)]                 # forward, input gradient
    for k, n in extra:
        products += [(md, k, n, 1), (md, n, k, 1), (k, md, n, 1)]          # + weight gradient
    products += [(md, h, vocab, 1), (md, vocab, h, 1)]                    # tied head, input gradient
    for k, n in layer:
        products += [(me, k, n, elayers), (me, n, k, etrain), (k, me, n, etrain)]
    total_s, total_mac, rows = 0.0, 0, []
    seen = {}
    for m, k, n, count in products:
        if (m, k, n) not in seen:
            seen[(m, k, n)] = rate(m, k, n)
        dt, gf = seen[(m, k, n)]
        total_s += dt * count
        total_mac += m * k * n * count
    for (m, k, n), (dt, gf) in sorted(seen.items(), key=lambda x: -x[1][1]):
        rows.append({"m": m, "k": k, "n": n, "gflops": round(gf, 1), "ms": round(dt * 1e3, 3)})
    peak = max(r["gflops"] for r in rows)
    step_s = a.batch / a.sentences_per_sec
    achieved = 2.0 * total_mac / step_s / 1e9
    out = {
        "threads": a.threads, "batch": a.batch, "decoder_positions": md, "encoder_positions": me,
        "step_gmac": round(total_mac / 1e9, 2),
        "gemm_only_step_s": round(total_s, 4), "gemm_only_gflops": round(2.0 * total_mac / total_s / 1e9, 1),
        "peak_gflops_at_recipe_shapes": peak,
        "measured_step_s": round(step_s, 4), "achieved_gflops": round(achieved, 1),
        "achieved_fraction_of_peak": round(achieved / peak, 3),
        "gemm_share_of_step": round(total_s / step_s, 3),
        "shapes": rows, "torch": torch.__version__,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
