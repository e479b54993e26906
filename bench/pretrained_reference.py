#!/usr/bin/env python3
"""The pretrained recipe's training step, written the usual Python way (transformers + PEFT).

What a user would write with pip transformers 4.46 and PEFT 0.13 to train what
`latent-cli train --preset pretrained` trains, so that a benchmark can set its sentences/s and
peak RSS beside ours. It mirrors, operation for operation where it matters to the maths:

- encoder (core/model/families/bert.cpp, families.cpp): all-MiniLM-L6-v2 as a BertModel, no
  dropout; embeddings and layers 0-2 frozen (preset "pretrained": train.freeze); the mean of the
  last hidden states over non-pad tokens, then BERT's own pooler (Linear H->H, tanh) on that
  mean (spec 1, pooling "avg"), then Linear(384, 2 x 64, bias=False) initialised N(0, 1/384),
  of which the first half is mu;
- the fixed posterior (core/model/vae_ddpm.cpp): logvar = log(0.008), z = mu + sqrt(0.008) eps;
  the KL is computed for the log only;
- decoder (core/model/families/llama.cpp): SmolLM2-135M-Instruct as a LlamaForCausalLM (tied
  head), frozen, with PEFT LoRA r=8, alpha=8 (scale 1, as ours), no dropout, on q_proj, k_proj,
  v_proj and o_proj of the 30 pretrained blocks (PEFT's A ~ kaiming-uniform = U(+-1/sqrt(in))
  and B = 0, as ours); a fresh LlamaDecoderLayer inserted before them and trained whole (the
  extra first block, HF's N(0, 0.02) init); z enters as one key/value slot per block and
  key/value head through past_key_values (Linear(64, 192 x 31, bias=False), the same vector as
  key and value, not rotated: real tokens take positions 1..L, which the cache's length of 1
  gives by itself) and added to the token embeddings (Linear(64, 576, bias=False));
- the loss (vae_ddpm.cpp, diffusion.cpp, spec 2 and 4): per sentence rec = summed token CE
  (PAD targets ignored) / tokens BOS..EOS; the DDPM loss of an MLPSkipNet 6 x 512 (noise_nets.cpp)
  over T = 2000 constant-beta 0.008 steps, t = 1 tied to mu; loss = mean(1/(w T)) x mean(rec) +
  1.0 x mean(ddpm) (DMLP's pairing, alpha_ddpm 1); the first 2,000 steps feed the prior detached
  latents (train.ddpm_detach_steps);
- the step (core/train/trainer.cpp, optimizer.cpp): AdamW with weight decay 0 (= our Adam),
  betas (0.9, 0.999), eps 1e-5, lr 2e-4 with 200 linear warm-up steps then linear decay to
  1% over 20,000 steps (our lr_at), gradient norm clipped to 1, fp32;
- the data (core/train/data.cpp, core/data/corpus.h): lines whitespace-normalised, empty ones
  skipped, each side tokenized by its own tokenizer and cut at --max-length tokens, framed
  BOS..EOS (encoder [CLS] .. [SEP] padded with [PAD]; decoder <|im_start|> .. <|im_end|> padded
  with <|endoftext|>, our llama-bpe codec's choice); length-bucketed batches: the corpus
  shuffled, sorted by decoder length within pools of 50 batches, cut into batches, the batches
  shuffled.

Deliberate differences: the random streams (numpy's shuffle instead of our mt19937_64, torch's
default generator for eps, t and the DDPM noise, Python's init draws), so the batch order and
the initial fresh weights differ from a C++ run with the same seed; BertModel also computes its
CLS pooler output, which is unused (a 384 x 384 product a step); SDPA attention as the
transformers defaults choose it.

Prints one JSON object on stdout; progress goes to stderr.
"""
import argparse
import json
import math
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import peft
import tokenizers
import transformers
from peft import LoraConfig, get_peft_model
from transformers import AutoTokenizer, BertModel, LlamaForCausalLM
from transformers.cache_utils import DynamicCache
from transformers.models.llama.modeling_llama import LlamaDecoderLayer

# The preset "pretrained" (core/model/config.cpp) and the defaults it keeps (core/model/config.h).
LATENT_DIM = 64
FROZEN_ENCODER_LAYERS = 3           # train.freeze: encoder.embeddings., encoder.encoder.layer.0-2.
LORA_RANK = 8
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]
DIFFUSION_STEPS = 2000
BETA = 0.008
NOISE_NET_LAYERS, NOISE_NET_HIDDEN = 6, 512
ALPHA_DDPM = 1.0
DDPM_DETACH_STEPS = 2000
LR, WARMUP_STEPS, TOTAL_STEPS, LR_END_RATIO, LR_POWER = 2e-4, 200, 20000, 0.01, 1.0
ADAM_EPS, GRAD_CLIP = 1e-5, 1.0
MAX_CHARS = 512                     # core/data/corpus.h: longer lines are cut
POOL_BATCHES = 50                   # core/train/data.cpp: plan_epoch


def log(msg):
    print(f"[reference] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data

def load_sentences(path):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            s = " ".join(line.split())
            if s:
                out.append(s[:MAX_CHARS])
    return out


def decoder_specials(tok, folder):
    """Our llama-bpe codec's ids (core/text/codec.cpp, LlamaCodec): bos, eos from
    tokenizer_config.json; pad: pad_token unless it is eos or bos, else unk, else <|endoftext|>."""
    with open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    vocab = tok.get_vocab()
    eos = cfg.get("eos_token")
    bos = cfg.get("bos_token") if cfg.get("bos_token") in vocab else eos
    usable = lambda t: t is not None and t in vocab and t not in (eos, bos)
    pad = next((t for t in (cfg.get("pad_token"), cfg.get("unk_token"), "<|endoftext|>") if usable(t)), None)
    if pad is None:
        raise SystemExit(f"{folder}: no pad token our codec would pick")
    return vocab[bos], vocab[eos], vocab[pad]


def tokenize(tok, sentences, max_length):
    ids = tok(sentences, add_special_tokens=False)["input_ids"]
    return [s[:max_length] for s in ids]


def plan_epoch(dec_lengths, batch, rng):
    """core/train/data.cpp plan_epoch: shuffle, sort by length within pools of 50 batches, cut, shuffle."""
    order = rng.permutation(len(dec_lengths))
    pool = batch * POOL_BATCHES
    batches = []
    for p in range(0, len(order), pool):
        chunk = sorted(order[p:p + pool].tolist(), key=lambda i: dec_lengths[i])  # stable
        batches.extend(chunk[i:i + batch] for i in range(0, len(chunk), batch))
    rng.shuffle(batches)
    return batches


def pad_batch(seqs, bos, eos, pad):
    L = max(len(s) for s in seqs) + 2
    out = torch.full((len(seqs), L), pad, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s) + 2] = torch.tensor([bos] + s + [eos])
    return out


# ---------------------------------------------------------------- the prior

def timestep_embedding(t_frac, dim=64):
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * -math.log(10000.0) / half)
    args = t_frac.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class MLPLNAct(nn.Module):
    def __init__(self, d_in, d_out, hidden, cond_dim):
        super().__init__()
        self.hidden = hidden
        self.linear = nn.Linear(d_in, d_out)
        if hidden:
            self.linear_emb = nn.Linear(cond_dim, d_out)
            self.norm = nn.LayerNorm(d_out)
            nn.init.kaiming_normal_(self.linear.weight, a=0, mode="fan_in", nonlinearity="relu")
            nn.init.kaiming_normal_(self.linear_emb.weight, a=0, mode="fan_in", nonlinearity="relu")

    def forward(self, h, silu_cond):
        y = self.linear(h)
        if not self.hidden:
            return y
        return F.silu(self.norm(y * (1 + self.linear_emb(silu_cond))))


class MLPSkipNet(nn.Module):
    """DMLP's MLPSkipNet (core/model/noise_nets.cpp)."""

    def __init__(self, dim, layers, hidden):
        super().__init__()
        self.time_embed = nn.Sequential(nn.Linear(64, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.layers = nn.ModuleList(
            MLPLNAct(dim if i == 0 else hidden + dim, dim if i == layers - 1 else hidden, i < layers - 1, dim)
            for i in range(layers))

    def forward(self, x, t_frac):
        silu_cond = F.silu(self.time_embed(timestep_embedding(t_frac)))
        h = x
        for i, layer in enumerate(self.layers):
            if i > 0:
                h = torch.cat([h, x], dim=1)
            h = layer(h, silu_cond)
        return h


class Schedule:
    """core/model/diffusion.cpp make_schedule, constant beta, float32."""

    def __init__(self, T, beta):
        self.T = T
        self.beta = torch.full((T + 1,), beta, dtype=torch.float32)
        self.alpha = 1 - self.beta
        self.alphabar = torch.cumsum(torch.log(self.alpha), 0).exp()
        self.sqrtab = self.alphabar.sqrt()
        self.sqrtmab = (1 - self.alphabar).sqrt()
        self.oneover_sqrta = 1 / self.alpha.sqrt()
        self.sqrt_beta = self.beta.sqrt()
        self.loss_weight = 0.5 * self.beta / (self.alpha * (1 - self.alphabar))


def diffusion_loss(net, s, x, mu):
    t = torch.randint(1, s.T + 1, (x.size(0),))
    eps = torch.randn_like(x)
    xt = s.sqrtab[t, None] * x + s.sqrtmab[t, None] * eps
    eps_hat = net(xt, t / s.T)
    loss = F.mse_loss(eps, eps_hat, reduction="none").mean(1)
    x0 = s.oneover_sqrta[1] * (xt - s.sqrt_beta[1] * eps_hat)
    loss1 = (s.alpha[1] / s.beta[1]) * F.mse_loss(mu, x0, reduction="none").mean(1)
    return torch.where(t == 1, loss1, loss), s.loss_weight[t]


# ---------------------------------------------------------------- the model

class LatentModel(nn.Module):
    def __init__(self, encoder_dir, decoder_dir):
        super().__init__()
        self.encoder = BertModel.from_pretrained(encoder_dir, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        for p in self.encoder.embeddings.parameters():
            p.requires_grad_(False)
        for layer in self.encoder.encoder.layer[:FROZEN_ENCODER_LAYERS]:
            for p in layer.parameters():
                p.requires_grad_(False)
        H_enc = self.encoder.config.hidden_size
        self.to_latent = nn.Linear(H_enc, 2 * LATENT_DIM, bias=False)
        nn.init.normal_(self.to_latent.weight, 0.0, 1.0 / math.sqrt(H_enc))

        llama = LlamaForCausalLM.from_pretrained(decoder_dir, torch_dtype=torch.float32)
        lora = LoraConfig(r=LORA_RANK, lora_alpha=LORA_RANK, lora_dropout=0.0, bias="none",
                          target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
        self.decoder = get_peft_model(llama, lora)  # freezes the base model, adapters trainable
        cfg = llama.config
        # The extra first block: a fresh Llama layer before the pretrained ones, trained whole.
        extra = LlamaDecoderLayer(cfg, layer_idx=0)
        extra.apply(llama._init_weights)
        layers = llama.model.layers
        layers.insert(0, extra)
        for i, layer in enumerate(layers):
            layer.self_attn.layer_idx = i
        cfg.num_hidden_layers = len(layers)
        self.blocks = len(layers)
        self.kv_heads = cfg.num_key_value_heads
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.latent_memory = nn.Linear(LATENT_DIM, self.blocks * self.kv_heads * self.head_dim, bias=False)
        self.latent_emb = nn.Linear(LATENT_DIM, cfg.hidden_size, bias=False)
        for lin in (self.latent_memory, self.latent_emb):
            nn.init.normal_(lin.weight, 0.0, cfg.initializer_range)
        self.eps_model = MLPSkipNet(LATENT_DIM, NOISE_NET_LAYERS, NOISE_NET_HIDDEN)
        self.schedule = Schedule(DIFFUSION_STEPS, BETA)

    def forward(self, enc_ids, enc_pad, dec_ids, dec_pad, detach_prior):
        # Encoder: masked mean, BERT's pooler on it, projection; the fixed posterior.
        mask = enc_ids.ne(enc_pad)
        h = self.encoder(input_ids=enc_ids, attention_mask=mask.long()).last_hidden_state
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = torch.tanh(self.encoder.pooler.dense((h * m).sum(1) / m.sum(1).clamp_min(1.0)))
        mu = self.to_latent(pooled).chunk(2, dim=-1)[0]
        logvar = torch.full_like(mu, math.log(BETA))
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

        # Decoder: z as one key/value slot per block (past_key_values) and added to the embeddings.
        B = z.size(0)
        inputs, targets = dec_ids[:, :-1], dec_ids[:, 1:]
        mem = self.latent_memory(z).view(B, self.blocks, self.kv_heads, 1, self.head_dim)
        past = DynamicCache.from_legacy_cache(tuple((mem[:, i], mem[:, i]) for i in range(self.blocks)))
        embeds = self.decoder.get_input_embeddings()(inputs) + self.latent_emb(z).unsqueeze(1)
        attention_mask = torch.ones(B, inputs.size(1) + 1, dtype=torch.long)  # the slot + the tokens
        logits = self.decoder(inputs_embeds=embeds, past_key_values=past, attention_mask=attention_mask,
                              use_cache=True).logits
        ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1),
                             ignore_index=dec_pad, reduction="none").view(targets.shape)
        length = dec_ids.ne(dec_pad).sum(1).float()
        rec = ce.sum(1)
        vae = rec / length
        kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)

        x, m_ = (z.detach(), mu.detach()) if detach_prior else (z, mu)
        ddpm, w = diffusion_loss(self.eps_model, self.schedule, x, m_)
        inv = 1 / (w * self.schedule.T)
        loss = (inv[:, None] * vae[None, :]).mean() + ALPHA_DDPM * ddpm.mean()
        return loss, rec, kl, ddpm


def lr_at(step):
    """core/train/optimizer.cpp lr_at, as a LambdaLR factor."""
    if step < WARMUP_STEPS:
        return (step + 1) / WARMUP_STEPS
    if step >= TOTAL_STEPS:
        return LR_END_RATIO
    remaining = 1.0 - (step - WARMUP_STEPS) / max(1, TOTAL_STEPS - WARMUP_STEPS)
    return (1 - LR_END_RATIO) * remaining ** LR_POWER + LR_END_RATIO


def count(params):
    return sum(p.numel() for p in params)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--encoder", required=True, help="all-MiniLM-L6-v2 folder (Hugging Face BERT)")
    ap.add_argument("--decoder", required=True, help="SmolLM2-135M-Instruct folder (Hugging Face Llama)")
    ap.add_argument("--corpus", required=True, help="one sentence a line (build/resources/corpus/train.txt)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20, help="timed optimiser steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed optimiser steps before them")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--max-length", type=int, default=40, help="tokens per sentence on each side, framing aside")
    ap.add_argument("--limit", type=int, default=0, help="read at most this many sentences (0: all)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    transformers.logging.set_verbosity_error()

    t0 = time.perf_counter()
    sentences = load_sentences(a.corpus)
    if a.limit > 0:
        sentences = sentences[:a.limit]
    if not sentences:
        raise SystemExit(f"{a.corpus}: no sentences")
    enc_tok = AutoTokenizer.from_pretrained(a.encoder)
    dec_tok = AutoTokenizer.from_pretrained(a.decoder)
    enc_seqs = tokenize(enc_tok, sentences, a.max_length)
    dec_seqs = tokenize(dec_tok, sentences, a.max_length)
    enc_bos, enc_eos, enc_pad = enc_tok.cls_token_id, enc_tok.sep_token_id, enc_tok.pad_token_id
    dec_bos, dec_eos, dec_pad = decoder_specials(dec_tok, a.decoder)
    dec_lengths = [len(s) for s in dec_seqs]
    log(f"{len(sentences)} sentences tokenized in {time.perf_counter() - t0:.1f} s")

    model = LatentModel(a.encoder, a.decoder)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_train, n_all = count(trainable), count(model.parameters())
    log(f"model: {n_all} parameters, {n_train} trainable")
    optim = torch.optim.AdamW(trainable, lr=LR, betas=(0.9, 0.999), eps=ADAM_EPS, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lr_at)

    plan, records, step_ms, timed_steps = [], [], [], []
    for step in range(a.warmup + a.steps):
        if not plan:
            plan = plan_epoch(dec_lengths, a.batch, rng)
        idx = plan.pop()
        # Batches are ready before the step starts, as our prefetch thread has them.
        enc_ids = pad_batch([enc_seqs[i] for i in idx], enc_bos, enc_eos, enc_pad)
        dec_ids = pad_batch([dec_seqs[i] for i in idx], dec_bos, dec_eos, dec_pad)
        start = time.perf_counter()
        loss, rec, kl, ddpm = model(enc_ids, enc_pad, dec_ids, dec_pad, detach_prior=step < DDPM_DETACH_STEPS)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(trainable, GRAD_CLIP)
        optim.step()
        sched.step()
        ms = (time.perf_counter() - start) * 1000
        timed = step >= a.warmup
        if timed:
            step_ms.append(ms)
            timed_steps.append((idx, ms))
        rec_ = {"step": step + 1, "timed": timed, "sentences": len(idx), "tokens": int(dec_ids.ne(dec_pad).sum()),
                "loss": loss.item(), "rec": rec.mean().item(), "kl": kl.mean().item(), "ddpm": ddpm.mean().item(),
                "grad_norm": float(grad_norm), "ms": round(ms, 1)}
        records.append(rec_)
        log(json.dumps(rec_))

    per_sec = [len(idx_) / (ms / 1000) for idx_, ms in timed_steps]
    out = {
        "side": "reference (transformers + PEFT)",
        "recipe": "pretrained",
        "batch": a.batch, "steps": a.steps, "warmup": a.warmup, "threads": a.threads, "seed": a.seed,
        "max_length": a.max_length, "sentences_in_corpus": len(sentences),
        "sentences_per_sec": statistics.median(per_sec) if per_sec else None,
        "step_ms": ({"median": statistics.median(step_ms), "mean": statistics.fmean(step_ms),
                     "min": min(step_ms), "max": max(step_ms)} if step_ms else None),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "parameters": {"trainable": n_train, "total": n_all},
        "losses": [{k: r[k] for k in ("step", "timed", "loss", "rec", "kl", "ddpm")} for r in records],
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "peft": peft.__version__,
                     "tokenizers": tokenizers.__version__, "numpy": np.__version__},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
