#!/usr/bin/env python3
"""Times DMLP's own classes (PyPI package `dmlp`) on random weights, on the shapes of a
Latent Studio preset, for the jobs `latent-cli bench` times: bench/compare.py runs both.

    python dmlp_bench.py train       [--preset small|dmlp] [--batch B] [--length L] ...
    python dmlp_bench.py reconstruct [--n N] [--length L] [--max-tokens M] [--batch B] ...
    python dmlp_bench.py sample      [--n N] [--steps T] [--latent D] [--layers X] [--hidden W] ...

Prints one JSON object on stdout. Runs in the bench venv (bench/setup.sh): DMLP 1.0.3
needs transformers 4.36.2. Nothing is downloaded: configs are built from the shapes and
the weights are random (DMLP's own initialisation), as in `latent-cli bench`.

What runs is DMLP's code: BertForLatentConnectorAVG, GPT2ForLatentConnectorNew, VAE,
MLPSkipNet (+ its MLPLNAct layers), DDPM, VAE_DDPM and sample_sequence_conditional. The
glue around them (the training step, the encode-then-decode loop) follows DMLP's
train_vae_ddpm and calc_rec_lgy line for line, minus their logging, data loading,
detokenisation and BLEU.
"""
import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
import warnings

# transformers 4.36 calls a torch.utils._pytree function that torch 2.11 deprecates: noise only.
warnings.filterwarnings("ignore", category=FutureWarning, message=".*_register_pytree_node.*")

import torch
import torch.nn as nn

from DMLP.models.models import DDPM, MLPLNAct, MLPSkipNet, VAE, VAE_DDPM
from DMLP.models.my_transformers import BertForLatentConnectorAVG, GPT2ForLatentConnectorNew
from DMLP.utils.ddpm_schedule import ddpm_schedule
from DMLP.utils.sample import sample_sequence_conditional
from transformers import BertConfig, GPT2Config, get_polynomial_decay_schedule_with_warmup

# Special ids as in the studio's tokenizer (core/text/tokenizer.h); random tokens are drawn above them.
PAD, UNK, BOS, EOS = 0, 1, 2, 3
FIRST_WORD_ID = 4
# sample_sequence_conditional stops once every sentence of the batch has produced eos_id.
# An id no argmax can return makes it decode exactly `length` tokens, like `--max-tokens` on our side.
NEVER_EOS = -1

# The studio's presets (core/model/config.cpp), the shapes both sides build.
PRESETS = {
    "small": dict(vocab=4000, enc_hidden=128, enc_layers=2, enc_heads=4, enc_intermediate=512, enc_positions=128,
                  dec_hidden=128, dec_layers=2, dec_heads=4, dec_positions=128, latent=64,
                  layers=6, hidden=512, steps=2000, train_batch=64, dropout=0.0),
    "dmlp": dict(vocab=32000, enc_hidden=512, enc_layers=4, enc_heads=8, enc_intermediate=2048, enc_positions=512,
                 dec_hidden=768, dec_layers=12, dec_heads=12, dec_positions=1024, latent=128,
                 layers=20, hidden=2048, steps=2000, train_batch=32, dropout=0.1),
}
SHAPE_KEYS = [k for k in PRESETS["small"] if k not in ("train_batch", "dropout")]

# DMLP's training defaults (train_vae_ddpm and its tests/test_train.py).
LR, ADAM_EPS, MAX_GRAD_NORM, DDPM_WEIGHT, BETAS = 9e-5, 1e-5, 1.0, 10.0, (1e-4, 0.02)


class SpecialTokens:
    """What DMLP's VAE reads from its two tokenizers: the special tokens and their ids."""
    pad_token, bos_token, eos_token = "<PAD>", "<BOS>", "<EOS>"
    pad_token_id, bos_token_id, eos_token_id = PAD, BOS, EOS

    def convert_tokens_to_ids(self, tokens):
        ids = {self.pad_token: PAD, self.bos_token: BOS, self.eos_token: EOS}
        return [ids[t] for t in tokens]


class SizedMLPSkipNet(MLPSkipNet):
    """DMLP's MLPSkipNet (its forward, its MLPLNAct layers and their init) at another depth
    and width. DMLP's constructor hard-codes num_layers = 20 and num_hid_channels = 2048;
    this one lays out the same layers (first: latent -> hidden, middle: hidden + latent ->
    hidden, all conditioned, LayerNorm, SiLU; last: hidden + latent -> latent, plain) for
    any size. At 20 x 2048 DMLP's own constructor is used instead (see build_noise_net)."""

    def __init__(self, latent, layers, hidden):
        nn.Module.__init__(self)
        self.time_embed_dim = 64
        self.time_embed = nn.Sequential(nn.Linear(self.time_embed_dim, latent), nn.SiLU(), nn.Linear(latent, latent))
        self.activation = "silu"
        self.skip_layers = list(range(1, layers))
        self.layers = nn.ModuleList()
        for i in range(layers):
            last = i == layers - 1
            a = (latent if i == 0 else hidden) + (latent if i in self.skip_layers else 0)
            b = latent if last else hidden
            self.layers.append(MLPLNAct(a, b, norm=not last, activation="none" if last else "silu",
                                        cond_channels=latent, use_cond=not last, condition_bias=1, dropout=0))
        self.last_act = nn.Identity()


def build_noise_net(s):
    if (s["layers"], s["hidden"]) == (20, 2048):
        return MLPSkipNet(s["latent"])
    return SizedMLPSkipNet(s["latent"], s["layers"], s["hidden"])


def build_ddpm(s):
    # As DMLP's tests/test_train.py builds it.
    return DDPM(build_noise_net(s), BETAS, s["steps"], nn.MSELoss(reduction="none"), ddpm_schedule)


def build_vae(s, device):
    enc_cfg = BertConfig(vocab_size=s["vocab"], hidden_size=s["enc_hidden"], num_hidden_layers=s["enc_layers"],
                         num_attention_heads=s["enc_heads"], intermediate_size=s["enc_intermediate"],
                         max_position_embeddings=s["enc_positions"], pad_token_id=PAD,
                         hidden_dropout_prob=s["dropout"], attention_probs_dropout_prob=s["dropout"])
    encoder = BertForLatentConnectorAVG(enc_cfg, latent_size=s["latent"], pad_id=PAD)
    dec_cfg = GPT2Config(vocab_size=s["vocab"], n_embd=s["dec_hidden"], n_layer=s["dec_layers"],
                         n_head=s["dec_heads"], n_positions=s["dec_positions"],
                         bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD,
                         resid_pdrop=s["dropout"], embd_pdrop=s["dropout"], attn_pdrop=s["dropout"])
    decoder = GPT2ForLatentConnectorNew(dec_cfg, latent_size=s["latent"], latent_as_gpt_emb=True,
                                        latent_as_gpt_memory=True)
    # DMLP's own set-up after from_pretrained: the extra block becomes block 0.
    decoder.transformer.change_order()
    # GPT2ForLatentConnectorNew.__init__ replaces the transformer after tying the LM head,
    # so the head stays tied to the discarded first transformer's embedding. from_pretrained
    # and resize_token_embeddings (both in DMLP's recipe) re-tie it; do the same here.
    decoder.tie_weights()
    tok = SpecialTokens()
    return VAE(encoder, decoder, tok, tok, s["latent"], tempfile.gettempdir(), device=device)


def random_ids(n, length, vocab, gen):
    """(n, length + 2): BOS, `length` random words, EOS; no padding (as `latent-cli bench`)."""
    body = torch.randint(FIRST_WORD_ID, vocab, (n, length), generator=gen)
    return torch.cat([torch.full((n, 1), BOS), body, torch.full((n, 1), EOS)], dim=1)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_runs(warmup, reps, device, fn):
    """Seconds of each of `reps` runs of fn after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    sync(device)
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync(device)
        out.append(time.perf_counter() - t0)
    return out


def stats(values):
    """median, min, max, p95 (nearest rank) and n, as `latent-cli bench` reports them."""
    v = sorted(values)
    rank = max(1, min(len(v), -(-95 * len(v) // 100)))
    return {"median": statistics.median(v), "min": v[0], "max": v[-1], "p95": v[rank - 1], "n": len(v)}


def count(params):
    seen, total = set(), 0
    for p in params:
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def dmlp_trainable(name):
    """DMLP's condition_f (tests/test_train.py): pretrained decoder blocks 1..N stay frozen."""
    return "linear" in name or "wte" in name or "decoder.transformer.h.0" in name or "encoder" in name


def job_train(a, s, device):
    model = VAE_DDPM(build_vae(s, device), build_ddpm(s), DDPM_WEIGHT).to(device)
    model.train()
    keep = dmlp_trainable if a.trainable == "dmlp" else (lambda n: True)
    params = [p for n, p in model.model_vae.named_parameters() if keep(n)] + list(model.ddpm.parameters())
    # As in DMLP, parameters left out of the optimiser still get their gradients computed.
    fp16 = a.precision == "fp16"
    # train_vae_ddpm: Adam(lr, eps), fused in its fp16 path, polynomial decay, clipping to 1.
    optimizer = torch.optim.Adam(params, lr=LR, eps=ADAM_EPS, **({"fused": True} if fp16 else {}))
    scheduler = get_polynomial_decay_schedule_with_warmup(optimizer, 0, num_training_steps=10**9,
                                                          lr_end=LR * 0.01, power=3.0)
    scaler = torch.amp.GradScaler("cuda") if fp16 else None
    gen = torch.Generator().manual_seed(a.seed)
    inputs = random_ids(a.batch, a.length, s["vocab"], gen).to(device)
    labels = inputs.clone()
    amp_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(a.precision)

    def step():
        with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss_rec, loss_kl, loss, latent_z, mu, ddpm_loss, loss_weight = model(inputs, labels)
        if scaler:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        if scaler:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        scheduler.step()
        model.zero_grad()

    secs = time_runs(a.warmup, a.reps, device, step)
    return {"batch": a.batch, "length": a.length, "tokens_per_sentence": a.length + 2,
            "trainable": a.trainable, "precision": a.precision,
            "params": count(model.parameters()), "trainable_params": count(params),
            "step_ms": stats([x * 1000 for x in secs]), "sentences_per_sec": stats([a.batch / x for x in secs])}


def job_reconstruct(a, s, device):
    vae = build_vae(s, device).to(device)
    vae.eval()
    gen = torch.Generator().manual_seed(a.seed)
    ids = random_ids(a.n, a.length, s["vocab"], gen)
    tok = SpecialTokens()

    def run():
        # calc_rec_lgy's loop: batch to the device, encoder, z = mu, sample_sequence_conditional.
        with torch.no_grad():
            for start in range(0, a.n, a.batch):
                x0 = ids[start:start + a.batch].to(device)
                attention_mask = (x0 != PAD).float()
                pooled_hidden_fea = vae.encoder(x0, attention_mask)[1]
                mean, logvar = vae.encoder.linear(pooled_hidden_fea).chunk(2, -1)
                latent_z = mean.squeeze(1)
                out = sample_sequence_conditional(model=vae.decoder, context=[BOS], past=latent_z,
                                                  length=a.max_tokens, num_samples=latent_z.size(0), device=device,
                                                  decoder_tokenizer=tok, eos_id=NEVER_EOS)
                assert out.shape == (x0.size(0), 1 + a.max_tokens), out.shape  # BOS + exactly max_tokens

    secs = time_runs(a.warmup, a.reps, device, run)
    return {"n": a.n, "length": a.length, "max_tokens": a.max_tokens, "batch": a.batch, "cached": False,
            "stop_at_eos": False, "params": count(vae.parameters()),
            "seconds": stats(secs), "sentences_per_sec": stats([a.n / x for x in secs])}


def job_sample(a, s, device):
    ddpm = build_ddpm(s).to(device)
    ddpm.eval()

    def run():
        with torch.no_grad():  # as calc_ppl_lgy_ddpm calls it
            ddpm.sample(a.n, (s["latent"],), device)

    secs = time_runs(a.warmup, a.reps, device, run)
    return {"n": a.n, "steps": s["steps"], "latent": s["latent"], "noise_net": "mlp_skip",
            "layers": s["layers"], "hidden": s["hidden"], "params": count(ddpm.parameters()),
            "seconds": stats(secs)}


JOBS = {"train": job_train, "reconstruct": job_reconstruct, "sample": job_sample}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("job", nargs="?", choices=sorted(JOBS), help="what to time (or --job)")
    p.add_argument("--job", dest="job_opt", choices=sorted(JOBS), help=argparse.SUPPRESS)
    p.add_argument("--preset", choices=sorted(PRESETS), default="small", help="shapes (default small)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reps", type=int, default=5, help="timed repetitions")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    g = p.add_argument_group("shapes (default: the preset's)")
    for k in SHAPE_KEYS:
        g.add_argument("--" + k.replace("_", "-"), dest=k, type=int)
    j = p.add_argument_group("job sizes")
    j.add_argument("--batch", type=int, help="train: sentences per step (preset's); reconstruct: per decoding batch (128)")
    j.add_argument("--length", type=int, default=20, help="random words per sentence, BOS and EOS excluded (20)")
    j.add_argument("--n", type=int, help="reconstruct: sentences (1000); sample: latents (100)")
    j.add_argument("--max-tokens", type=int, default=20, help="reconstruct: tokens decoded per sentence, no stop at EOS (20)")
    j.add_argument("--trainable", choices=["all", "dmlp"], default="all",
                   help="train: all parameters (as latent-cli bench) or DMLP's condition_f subset")
    j.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp32",
                   help="train: autocast (fp16 with GradScaler and fused Adam, DMLP's fp16 path)")
    a = p.parse_args(argv)
    a.job = a.job or a.job_opt
    if not a.job:
        p.error("a job is required: " + ", ".join(sorted(JOBS)))
    if a.batch is None:
        a.batch = PRESETS[a.preset]["train_batch"] if a.job == "train" else 128
    if a.n is None:
        a.n = 100 if a.job == "sample" else 1000
    for name in ("reps", "batch", "length", "n", "max_tokens"):
        if getattr(a, name) < 1:
            p.error("--%s must be positive" % name.replace("_", "-"))
    if a.warmup < 0:
        p.error("--warmup must be non-negative")
    if a.precision != "fp32" and a.device != "cuda":
        p.error("--precision fp16/bf16 needs --device cuda (DMLP autocasts on CUDA only)")
    return a


def main(argv):
    a = parse_args(argv)
    s = {k: (getattr(a, k) if getattr(a, k) is not None else PRESETS[a.preset][k]) for k in SHAPE_KEYS}
    s["dropout"] = PRESETS[a.preset]["dropout"]  # the preset's BERT/GPT-2 dropout, as ours
    # Positions: BOS + words + EOS in the encoder; the decoder's tokens start at 1, after the latent slot.
    if a.length + 2 > s["enc_positions"] or a.length + 3 > s["dec_positions"] or a.max_tokens + 2 > s["dec_positions"]:
        raise SystemExit("dmlp_bench: --length/--max-tokens do not fit --enc-positions %d / --dec-positions %d"
                         % (s["enc_positions"], s["dec_positions"]))
    if a.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("dmlp_bench: --device cuda: CUDA is not available on this machine")
    device = torch.device("cuda:0" if a.device == "cuda" else "cpu")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    from importlib.metadata import version
    out = {"job": a.job, "impl": "dmlp", "dmlp": version("dmlp"), "transformers": version("transformers"),
           "torch": torch.__version__, "python": platform.python_version(), "preset": a.preset,
           "device": a.device,
           "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
           "threads": torch.get_num_threads(), "seed": a.seed, "reps": a.reps, "warmup": a.warmup, "shapes": s}
    out.update(JOBS[a.job](a, s, device))
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if device.type == "cuda":
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
