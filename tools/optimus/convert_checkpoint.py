#!/usr/bin/env python3
"""Converts an Optimus checkpoint (github.com/ChunyuanLI/Optimus, also microsoft/Optimus: a BERT
encoder + GPT-2 decoder VAE) into the export folder `latent-cli import-dmlp` reads (the format
tools/dmlp/convert_checkpoint.py writes).

    python3 tools/optimus/convert_checkpoint.py RUN_DIR [--step N] --out EXPORT_DIR \\
        [--bert BERT_BASE --gpt2 GPT2_BASE]
    python3 tools/optimus/convert_checkpoint.py --encoder-dir RUN/checkpoint-encoder-N \\
        --decoder-dir RUN/checkpoint-decoder-N --out EXPORT_DIR [--args FILE]

RUN_DIR: the folder holding checkpoint-encoder-N/ and checkpoint-decoder-N/ (Optimus's --output_dir,
or an unzipped released checkpoint-N/); --step N picks N when there are several.
See tools/optimus/README.md for the layout and for how Optimus's math compares with DMLP's.

What Optimus writes (examples/big_ae/run_lm_vae_training.py, save_checkpoint):
  checkpoint-encoder-N/  pytorch_model.bin  BertForLatentConnector.state_dict(): BertModel names
                                            without a "bert." prefix (embeddings.*, encoder.layer.*,
                                            pooler.dense.*) + linear.weight (2 x latent, hidden)
                         config.json        BertConfig (pytorch_transformers 1.x: no model_type)
                         training_encoder_args.bin   torch.save(args), an argparse.Namespace
  checkpoint-decoder-N/  pytorch_model.bin  GPT2ForLatentConnector.state_dict(): transformer.wte/wpe,
                                            transformer.h.i.* (+ the causal-mask buffer attn.bias),
                                            transformer.ln_f, transformer.linear (hidden x n_layer,
                                            latent), transformer.linear_emb (hidden, latent),
                                            lm_head.weight (tied to wte, no bias)
                         config.json        GPT2Config + latent_size, vocab_size incl. <PAD> <BOS> <EOS>
                         training_encoder_args.bin   (sic: the decoder's copy of args has the
                                            encoder's name, unless --use_philly: training_decoder_args.bin)
  checkpoint-full-N/training.bin  {'iter', 'model_state_dict' (encoder.* decoder.*),
                                  'optimizer_state_dict', 'beta', 'args'}
Other Optimus scripts name the args file training_args.bin; all of these are looked for (--args
names one). The args give latent_size, latent_as_gpt_emb / latent_as_gpt_memory (ints 1/0), beta,
... Without them --latent-size is checked against the tensors and the flags default to on (the
training scripts' defaults, and what Optimus's own reload path uses, see --optimus-reload-flags).

The args file is a pickled argparse.Namespace: it is read with torch.load(weights_only=True),
argparse.Namespace allowed; anything else in it needs --trust-pickle (weights_only=False), or
the converter goes on without the args. pytorch_model.bin is always read with weights_only=True.

--from-full reads the tensors from checkpoint-full-N/training.bin (model_state_dict) instead of
the two folders (Optimus's run_latent_generation.py loads it over them; both are written together).

Writes into --out:
  encoder.safetensors  BertModel names + linear.weight (as Optimus saves them)
  decoder.safetensors  DMLP's GPT2ForLatentConnector names: transformer.* (without the attn.bias
                       buffers), lm_head.bias = zeros (DMLP's head has a bias, Optimus's has none);
                       lm_head.weight left out (tied). An untied head (config torchscript) is an error.
  dmlp.json            "optimus": true, latent_size, "posterior": "learned", encoder (class
                       BertForLatentConnector, pooling cls), decoder (class GPT2ForLatentConnector,
                       latent_as_gpt_emb/_memory, "tokenizer_add_prefix_space": true: Optimus's
                       GPT2Tokenizer prepends a space to every text), the special tokens (with
                       --gpt2), "optimus_training" (the args that matter), and the
                       sections import_dmlp requires today although Optimus has no diffusion prior:
                       "ddpm_weight": 0, "diffusion" and "noise_net" marked "placeholder": true
                       (DMLP's defaults). No eps_model.safetensors.
All tensors float32 and contiguous. Needs torch and safetensors; transformers only for --bert/--gpt2.
"""
import argparse
import json
import math
import os
import pickle
import re
import sys

import torch
from safetensors.torch import save_file

SPECIAL_TOKENS = [("pad", "<PAD>"), ("bos", "<BOS>"), ("eos", "<EOS>")]  # Optimus adds them in this order
ARGS_NAMES = ["training_decoder_args.bin", "training_encoder_args.bin", "training_args.bin"]
ENC_BLOCK = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
             "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"]
DEC_BLOCK = ["ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj"]
# args worth keeping in dmlp.json (Optimus's argparse names)
ARGS_KEPT = ["latent_size", "latent_as_gpt_emb", "latent_as_gpt_memory", "beta", "fb_mode", "dim_target_kl",
             "length_weighted_loss", "ratio_zero", "ratio_increase", "use_deterministic_connect",
             "encoder_model_type", "encoder_model_name_or_path", "decoder_model_type", "decoder_model_name_or_path",
             "do_lower_case", "block_size", "max_seq_length", "dataset", "learning_rate", "num_train_epochs"]
DMLP_DIFFUSION = {"T": 2000, "schedule": "constant", "beta": 0.008}  # DMLP's defaults (its ddpm_schedule: 0.008)


class ConvertError(Exception):
    pass


def fail(msg):
    raise ConvertError(msg)


def note(msg):
    print("note: " + msg, file=sys.stderr)


def f32(t):
    return t.detach().to(torch.float32).contiguous().clone()


def short_path(path):
    path = os.path.abspath(path)
    return os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))


# ---------------------------------------------------------------- locating the files

def find_dirs(a):
    """-> (encoder_dir, decoder_dir, full_dir, step); folders may be None where not found."""
    enc, dec, full, step = a.encoder_dir, a.decoder_dir, a.full, a.step
    if a.run:
        if not os.path.isdir(a.run):
            fail(f"{a.run}: no such folder")
        found = {}
        for name in os.listdir(a.run):
            m = re.fullmatch(r"checkpoint-(encoder|decoder|full)-(\d+)", name)
            if m and os.path.isdir(os.path.join(a.run, name)):
                found.setdefault(int(m.group(2)), {})[m.group(1)] = os.path.join(a.run, name)
        if step is None:
            usable = sorted(n for n, d in found.items() if ("encoder" in d and "decoder" in d) or "full" in d)
            if not usable:
                fail(f"{a.run}: no checkpoint-encoder-N/ + checkpoint-decoder-N/ (or checkpoint-full-N/) in it")
            if len(usable) > 1:
                fail(f"{a.run}: several checkpoints ({', '.join(map(str, usable))}): pass --step N")
            step = usable[0]
        if step not in found:
            fail(f"{a.run}: no checkpoint-*-{step} folders (found steps {sorted(found)})")
        enc = enc or found[step].get("encoder")
        dec = dec or found[step].get("decoder")
        full = full or found[step].get("full")
    if step is None:
        for d in (enc, dec, full):
            m = re.search(r"checkpoint-(?:encoder|decoder|full)-(\d+)$", os.path.normpath(d or ""))
            if m:
                step = int(m.group(1))
                break
    return enc, dec, full, step


def weights_path(folder, what):
    if not os.path.isdir(folder):
        fail(f"{what} {folder}: no such folder")
    path = os.path.join(folder, "pytorch_model.bin")
    if not os.path.isfile(path):
        fail(f"{what} {folder}: pytorch_model.bin missing (Optimus's save_pretrained writes it there)")
    return path


def load_state(path):
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        fail(f"{path}: holds objects other than tensors ({str(e).splitlines()[0]}); not a state_dict")
    except Exception as e:
        fail(f"{path}: cannot be read by torch.load ({type(e).__name__}: {e})")
    if not isinstance(obj, dict) or not obj:
        fail(f"{path}: expected a state_dict (a dict of tensors), found {type(obj).__name__}")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        fail(f"{path}: non-tensor entries {bad[:5]}")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return dict(obj)


def read_config(folder):
    path = os.path.join(folder, "config.json") if folder else None
    if not path or not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_pickled(path, trust):
    """torch.load of an args file / training.bin: weights_only with argparse.Namespace allowed;
    weights_only=False only with --trust-pickle. -> (object or None, why not)."""
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True), None
    except Exception as e:
        why = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
        if "Unsupported global" in str(e) or isinstance(e, pickle.UnpicklingError):
            m = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(e))
            why = "it pickles " + (m.group(1) if m else "objects other than tensors and argparse.Namespace")
        if not trust:
            return None, why + " (--trust-pickle reads it with weights_only=False)"
    return torch.load(path, map_location="cpu", weights_only=False), None


def as_dict(args):
    if isinstance(args, argparse.Namespace):
        return vars(args)
    if isinstance(args, dict):
        return args
    return None


def find_args(a, enc_dir, dec_dir, full_dir):
    """-> (dict of Optimus's args or None, the file they came from or None)."""
    if a.args:
        if not os.path.isfile(a.args):
            fail(f"--args {a.args}: no such file")
        obj, why = load_pickled(a.args, a.trust_pickle)
        if obj is None:
            fail(f"--args {a.args}: cannot read it safely: {why}")
        d = as_dict(obj.get("args") if isinstance(obj, dict) and "args" in obj else obj)
        if d is None:
            fail(f"--args {a.args}: holds a {type(obj).__name__}, not Optimus's argparse.Namespace")
        return d, a.args
    candidates = []
    for folder in (dec_dir, enc_dir):
        if folder:
            candidates += [os.path.join(folder, n) for n in ARGS_NAMES]
    if a.run:
        candidates.append(os.path.join(a.run, "training_args.bin"))
    if full_dir:
        candidates.append(os.path.join(full_dir, "training.bin"))
    for path in candidates:
        if not os.path.isfile(path):
            continue
        obj, why = load_pickled(path, a.trust_pickle)
        if obj is None:
            note(f"{path}: not read ({why}); going on without it")
            continue
        d = as_dict(obj.get("args") if isinstance(obj, dict) and "args" in obj else obj)
        if d is not None:
            return d, path
        note(f"{path}: holds no argparse.Namespace; skipped")
    return None, None


# ---------------------------------------------------------------- tensors

def split_full(full_dir, trust):
    path = os.path.join(full_dir, "training.bin") if os.path.isdir(full_dir) else full_dir
    if not os.path.isfile(path):
        fail(f"--full {full_dir}: training.bin missing")
    obj, why = load_pickled(path, trust)
    if obj is None:
        fail(f"{path}: cannot read it safely: {why}")
    state = obj.get("model_state_dict") if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        fail(f"{path}: no 'model_state_dict' (not Optimus's checkpoint-full-N/training.bin)")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    enc = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    dec = {k[len("decoder."):]: v for k, v in state.items() if k.startswith("decoder.")}
    other = [k for k in state if not k.startswith(("encoder.", "decoder."))]
    if other:
        fail(f"{path}: model_state_dict has keys outside encoder./decoder.: {other[:6]}")
    return enc, dec, path, obj.get("iter")


def layer_count(state, prefix):
    idx = {int(m.group(1)) for k in state for m in [re.match(re.escape(prefix) + r"(\d+)\.", k)] if m}
    if idx != set(range(len(idx))):
        fail(f"layer indices under {prefix} are not 0..{len(idx) - 1}: {sorted(idx)}")
    return len(idx)


def missing_of(state, keys, what):
    missing = [k for k in keys if k not in state]
    if missing:
        fail(f"{what}: missing {missing[:6]}" + (f" and {len(missing) - 6} more" if len(missing) > 6 else ""))


def convert_encoder(st, path):
    st = dict(st)
    if any(k.startswith("bert.") for k in st):  # a BertModel inside a wrapper
        st = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in st.items()}
    renamed = {}
    for k, v in st.items():  # old TF-style LayerNorm names
        k2 = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", k)
        renamed[re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", k2)] = v
    st = renamed
    st.pop("embeddings.position_ids", None)  # a buffer in newer transformers, not a weight
    n = layer_count(st, "encoder.layer.")
    keys = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
            "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
            "pooler.dense.weight", "pooler.dense.bias", "linear.weight"]
    keys += [f"encoder.layer.{i}.{m}.{s}" for i in range(n) for m in ENC_BLOCK for s in ("weight", "bias")]
    if n == 0:
        fail(f"{path}: no encoder.layer.* tensors: not Optimus's BertForLatentConnector")
    missing_of(st, keys, f"{path} (BertForLatentConnector)")
    extra = sorted(set(st) - set(keys))
    if extra:
        fail(f"{path}: tensors BertForLatentConnector does not have: {extra[:6]} (not Optimus's BERT encoder?)")
    H = st["embeddings.word_embeddings.weight"].shape[1]
    lin = st["linear.weight"]
    if lin.dim() != 2 or lin.shape[1] != H or lin.shape[0] % 2:
        fail(f"{path}: linear.weight is {tuple(lin.shape)}, expected (2 x latent, {H})")
    return st, n, int(lin.shape[0] // 2)


def convert_decoder(st, path):
    st = dict(st)
    n = layer_count(st, "transformer.h.")
    if n == 0:
        fail(f"{path}: no transformer.h.* tensors: not Optimus's GPT2ForLatentConnector")
    keys = ["transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight", "transformer.ln_f.bias",
            "transformer.linear.weight", "transformer.linear_emb.weight"]
    keys += [f"transformer.h.{i}.{m}.{s}" for i in range(n) for m in DEC_BLOCK for s in ("weight", "bias")]
    missing_of(st, keys, f"{path} (GPT2ForLatentConnector)")
    buffers = 0
    for i in range(n):
        for name in (f"transformer.h.{i}.attn.bias", f"transformer.h.{i}.attn.masked_bias"):
            if name in st:
                b = st.pop(name)
                if name.endswith(".attn.bias"):  # Optimus's causal mask: tril(ones(n_ctx, n_ctx))
                    m = b.reshape(b.shape[-2], b.shape[-1]) if b.dim() >= 2 else None
                    if m is None or m.shape[0] != m.shape[1] or not torch.equal(m, torch.tril(torch.ones_like(m))):
                        fail(f"{path}: {name} is not GPT-2's lower-triangular causal mask")
                buffers += 1
    wte = st["transformer.wte.weight"]
    V, H = wte.shape
    tied = True
    if "lm_head.weight" in st:
        head = st.pop("lm_head.weight")
        if not torch.equal(head, wte):
            fail(f"{path}: lm_head.weight differs from transformer.wte.weight (config torchscript clones it); "
                 "the export format and latent-studio's decoder tie the head: cannot convert faithfully")
    if "lm_head.bias" in st:
        if st["lm_head.bias"].abs().max() != 0:
            note("lm_head.bias is not zero: latent-studio's decoder has no head bias (it warns on import)")
    else:
        st["lm_head.bias"] = torch.zeros(V)
    extra = sorted(set(st) - set(keys) - {"lm_head.bias"})
    if extra:
        fail(f"{path}: tensors GPT2ForLatentConnector does not have: {extra[:6]}")
    lin, emb = st["transformer.linear.weight"], st["transformer.linear_emb.weight"]
    latent = int(emb.shape[1])
    if tuple(emb.shape) != (H, latent):
        fail(f"{path}: transformer.linear_emb.weight is {tuple(emb.shape)}, expected ({H}, latent)")
    if tuple(lin.shape) != (H * n, latent):
        fail(f"{path}: transformer.linear.weight is {tuple(lin.shape)}, expected (n_embd x n_layer = {H * n}, "
             f"{latent}): one memory vector per block")
    return st, n, latent, tied, buffers


# ---------------------------------------------------------------- bases (tokenizers)

def encoder_base(path, rows, hidden, layers, do_lower_case):
    from transformers import AutoConfig, AutoTokenizer
    cfg = AutoConfig.from_pretrained(path, local_files_only=True)
    if cfg.model_type != "bert":
        fail(f"--bert {path} is a {cfg.model_type} model; Optimus's encoder is BertForLatentConnector")
    if (cfg.hidden_size, cfg.num_hidden_layers) != (hidden, layers):
        fail(f"--bert {path}: hidden {cfg.hidden_size}, {cfg.num_hidden_layers} layers; the checkpoint has "
             f"{hidden}, {layers}")
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if len(tok) != rows:
        fail(f"--bert {path}: the tokenizer has {len(tok)} tokens, the encoder's embedding {rows} rows")
    lower = getattr(tok, "do_lower_case", None)
    if lower is None:
        lower = (getattr(tok, "init_kwargs", {}) or {}).get("do_lower_case")
    if do_lower_case is not None and lower is not None and bool(lower) != bool(do_lower_case):
        note(f"--bert {path}: its tokenizer lower-cases = {bool(lower)}, the Optimus run used do_lower_case = "
             f"{bool(do_lower_case)} (the run's tokenizer came from {path}'s vocab with that flag)")
    order = [tok.pad_token, tok.unk_token, tok.cls_token, tok.sep_token, tok.mask_token]
    keys = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "hidden_act", "position_embedding_type"]
    return {"hf_config": {k: getattr(cfg, k, None) for k in keys}, "pad_token_id": tok.pad_token_id,
            "special_token_ids": {t: tok.convert_tokens_to_ids(t) for t in order if t},
            "tokenizer_length": len(tok), "tokenizer_lower_case": None if lower is None else bool(lower)}


def decoder_base(path, rows, hidden, layers):
    from transformers import AutoConfig, AutoTokenizer
    cfg = AutoConfig.from_pretrained(path, local_files_only=True)
    if cfg.model_type != "gpt2":
        fail(f"--gpt2 {path} is a {cfg.model_type} model; Optimus's decoder is GPT2ForLatentConnector")
    if (cfg.n_embd, cfg.n_layer) != (hidden, layers):
        fail(f"--gpt2 {path}: n_embd {cfg.n_embd}, {cfg.n_layer} layers; the checkpoint has {hidden}, {layers}")
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    base = len(tok)
    tok.add_special_tokens({"pad_token": "<PAD>", "bos_token": "<BOS>", "eos_token": "<EOS>"})  # Optimus's order
    if len(tok) != rows:
        fail(f"--gpt2 {path}: the tokenizer has {base} tokens, {len(tok)} with <PAD> <BOS> <EOS>; the decoder's "
             f"embedding has {rows} rows")
    keys = ["vocab_size", "n_embd", "n_layer", "n_head", "n_inner", "n_positions", "layer_norm_epsilon",
            "activation_function", "scale_attn_weights", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"]
    return {"hf_config": {k: getattr(cfg, k, None) for k in keys}, "base_vocab_size": base,
            "special_tokens": {r: {"token": t, "id": tok.convert_tokens_to_ids(t)} for r, t in SPECIAL_TOKENS},
            "tokenizer_length": len(tok)}


# ---------------------------------------------------------------- main

def flag(value):
    """Optimus's args hold the flags as ints (1/0)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return value.strip() == "1"
    return None


def plain(v):
    """A JSON-able copy (args and config values; anything else as its str)."""
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    return str(v)


def write_safetensors(tensors, path):
    tmp = path + ".partial"
    save_file({k: f32(v) for k, v in sorted(tensors.items())}, tmp, metadata={"format": "pt"})
    os.replace(tmp, path)


def convert(a):
    enc_dir, dec_dir, full_dir, step = find_dirs(a)
    if a.from_full:
        if not full_dir:
            fail("--from-full: no checkpoint-full-N folder (pass --full)")
        enc_raw, dec_raw, full_path, it = split_full(full_dir, a.trust_pickle)
        enc_src = dec_src = short_path(full_path)
        if step is None and isinstance(it, int):
            step = it
    else:
        if not enc_dir or not dec_dir:
            fail("need checkpoint-encoder-N/ and checkpoint-decoder-N/ (RUN_DIR, or --encoder-dir and --decoder-dir; "
                 "--from-full reads checkpoint-full-N/training.bin instead)")
        enc_path, dec_path = weights_path(enc_dir, "--encoder-dir"), weights_path(dec_dir, "--decoder-dir")
        enc_raw, dec_raw = load_state(enc_path), load_state(dec_path)
        enc_src, dec_src = short_path(enc_path), short_path(dec_path)

    enc, n_enc, latent = convert_encoder(enc_raw, enc_src)
    dec, n_dec, latent_dec, tied, buffers = convert_decoder(dec_raw, dec_src)
    if latent != latent_dec:
        fail(f"the encoder's linear gives latent {latent}, the decoder's linear_emb {latent_dec}")

    args, args_src = find_args(a, enc_dir, dec_dir, full_dir)
    enc_cfg, dec_cfg = read_config(enc_dir), read_config(dec_dir)
    for what, value in (("--latent-size", a.latent_size), ("args.latent_size", (args or {}).get("latent_size")),
                        ("decoder config.json latent_size", (dec_cfg or {}).get("latent_size"))):
        if value is not None and int(value) != latent:
            fail(f"{what} is {value}, but the tensors' latent size is {latent}")

    # latent_as_gpt_emb / latent_as_gpt_memory: not in the tensors (both projections always exist).
    emb = mem = True
    source = "default (Optimus's --latent_as_gpt_emb 1 --latent_as_gpt_memory 1)"
    if args is not None and "latent_as_gpt_emb" in args and "latent_as_gpt_memory" in args:
        e, m = flag(args["latent_as_gpt_emb"]), flag(args["latent_as_gpt_memory"])
        if e is None or m is None:
            fail(f"{args_src}: latent_as_gpt_emb / latent_as_gpt_memory are {args['latent_as_gpt_emb']!r} / "
                 f"{args['latent_as_gpt_memory']!r}, expected 0 or 1")
        emb, mem, source = e, m, "training args (" + short_path(args_src) + ")"
    elif args is not None:
        source = "default: the run's args have no latent_as_gpt_* (a script that builds the decoder with both on)"
    if a.optimus_reload_flags:
        if not (emb and mem):
            note(f"the run trained with latent_as_gpt_emb={int(emb)}, latent_as_gpt_memory={int(mem)}; "
                 "--optimus-reload-flags exports both on, as Optimus's run_latent_generation.py rebuilds it")
        emb, mem, source = True, True, "--optimus-reload-flags (GPT2ForLatentConnector's constructor defaults)"
    if not a.latent_as_gpt_emb:
        emb, source = False, source + "; --no-latent-as-gpt-emb"
    if not a.latent_as_gpt_memory:
        mem, source = False, source + "; --no-latent-as-gpt-memory"
    if not (emb or mem):
        fail("latent_as_gpt_emb and latent_as_gpt_memory both off: the decoder would ignore the latent "
             "(Optimus's training script refuses this too)")

    H = int(dec["transformer.wte.weight"].shape[1])
    V = int(dec["transformer.wte.weight"].shape[0])
    encoder = {"class": "BertForLatentConnector", "pooling": "cls",
               "vocab_size": int(enc["embeddings.word_embeddings.weight"].shape[0]),
               "hidden_size": int(enc["embeddings.word_embeddings.weight"].shape[1]), "layers": n_enc,
               "intermediate_size": int(enc["encoder.layer.0.intermediate.dense.weight"].shape[0]),
               "max_position_embeddings": int(enc["embeddings.position_embeddings.weight"].shape[0]),
               "type_vocab_size": int(enc["embeddings.token_type_embeddings.weight"].shape[0]),
               "base": a.bert, "hf_config": None, "pad_token_id": None, "special_token_ids": None,
               "optimus_config": {k: plain(v) for k, v in sorted((enc_cfg or {}).items())} or None}
    n_ctx = (dec_cfg or {}).get("n_ctx")
    decoder = {"class": "GPT2ForLatentConnector", "extra_first_block": False,
               "latent_as_gpt_emb": emb, "latent_as_gpt_memory": mem, "latent_flags_source": source,
               "vocab_size": V, "n_embd": H, "blocks": n_dec, "memory_slots": n_dec,
               "n_positions": int(dec["transformer.wpe.weight"].shape[0]), "n_ctx": n_ctx,
               "lm_head_tied": tied, "lm_head_bias": "zeros", "causal_mask_buffers_dropped": buffers,
               "tokenizer_add_prefix_space": True,
               "tokenizer_note": "Optimus's GPT2Tokenizer._tokenize prepends a space to every text (transformers' "
                                 "add_prefix_space=True): the first word is tokenized as after a space",
               "base": a.gpt2, "hf_config": None, "base_vocab_size": None, "special_tokens": None,
               "optimus_config": {k: plain(v) for k, v in sorted((dec_cfg or {}).items())} or None}
    if dec_cfg and dec_cfg.get("vocab_size") not in (None, V):
        fail(f"decoder config.json vocab_size {dec_cfg.get('vocab_size')} but transformer.wte.weight has {V} rows")
    if n_ctx is not None and int(n_ctx) < decoder["n_positions"]:
        note(f"decoder n_ctx {n_ctx} < n_positions {decoder['n_positions']}: Optimus's causal mask limits "
             f"sequences (memory slot included) to {n_ctx}")
    if a.bert:
        encoder.update(encoder_base(a.bert, encoder["vocab_size"], encoder["hidden_size"], n_enc,
                                    (args or {}).get("do_lower_case")))
    if a.gpt2:
        decoder.update(decoder_base(a.gpt2, V, H, n_dec))
    else:
        note("no --gpt2: dmlp.json gets no decoder.special_tokens (Optimus adds <PAD> <BOS> <EOS> after the "
             "base vocabulary; latent-cli then assumes the --decoder folder's ids)")

    training = {"args_source": short_path(args_src) if args_src else None}
    if args is not None:
        training.update({k: plain(args[k]) for k in ARGS_KEPT if k in args})
    training["posterior"] = "learned"
    training["posterior_note"] = ("Optimus samples z = mu + exp(logvar / 2) * eps with logvar the second half of "
                                  "the encoder's linear (DMLP fixes logvar = log 0.008); prior N(0, I), loss "
                                  "rec + beta * KL (fb_mode 1: per-dimension KL thresholded at dim_target_kl)")
    meta = {
        "format": "latent-studio dmlp export", "version": 1,
        "optimus": True,
        "step": step,
        "source": {"encoder": enc_src, "decoder": dec_src, "args": training["args_source"],
                   "optimus": "ChunyuanLI/Optimus (vendored pytorch_transformers 1.x)"},
        "latent_size": latent,
        "ddpm_weight": 0.0,
        "ddpm_weight_note": "Optimus has no diffusion prior; import_dmlp requires the key",
        "posterior": "learned",
        "encoder": encoder,
        "decoder": decoder,
        "optimus_training": training,
        "diffusion": dict(DMLP_DIFFUSION, placeholder=True,
                          note="not Optimus's: DMLP's defaults, present only because import_dmlp requires the section"),
        "noise_net": {"type": "mlp_skip", "dmlp_class": "MLPSkipNet", "placeholder": True,
                      "note": "no noise network in Optimus (no eps_model.safetensors); present only because "
                              "import_dmlp requires the section"},
        "files": {"encoder": "encoder.safetensors", "decoder": "decoder.safetensors"},
    }
    os.makedirs(a.out, exist_ok=True)
    write_safetensors(enc, os.path.join(a.out, "encoder.safetensors"))
    write_safetensors(dec, os.path.join(a.out, "decoder.safetensors"))
    stale = os.path.join(a.out, "eps_model.safetensors")
    if os.path.exists(stale):
        note(f"{stale}: left from an earlier export; an Optimus export has none (remove it)")
    tmp = os.path.join(a.out, "dmlp.json.partial")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(a.out, "dmlp.json"))
    print(f"{a.out}: Optimus step {step}, latent {latent}, encoder {len(enc)} tensors ({n_enc} layers), decoder "
          f"{len(dec)} tensors ({n_dec} blocks, vocab {V}), latent_as_gpt_emb={emb} latent_as_gpt_memory={mem} "
          f"[{source}]")
    return meta


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", nargs="?", help="folder with checkpoint-encoder-N/, checkpoint-decoder-N/ (checkpoint-full-N/)")
    p.add_argument("--step", type=int, help="N of checkpoint-*-N (needed when RUN_DIR has several)")
    p.add_argument("--encoder-dir", help="checkpoint-encoder-N folder (overrides RUN_DIR's)")
    p.add_argument("--decoder-dir", help="checkpoint-decoder-N folder (overrides RUN_DIR's)")
    p.add_argument("--full", help="checkpoint-full-N folder (or its training.bin): args source; tensors with --from-full")
    p.add_argument("--from-full", action="store_true", help="read the tensors from checkpoint-full-N/training.bin")
    p.add_argument("--args", help="Optimus's pickled args (training_*args.bin) to use")
    p.add_argument("--out", required=True, help="export folder (created)")
    p.add_argument("--bert", "--encoder-base", dest="bert",
                   help="the BERT (HF folder: config.json + tokenizer) the run started from; records its special ids")
    p.add_argument("--gpt2", "--decoder-base", dest="gpt2",
                   help="the GPT-2 (HF folder: config.json + tokenizer) the run started from; records <PAD> <BOS> <EOS> ids")
    p.add_argument("--latent-size", type=int, help="expected latent size (checked against the tensors)")
    p.add_argument("--no-latent-as-gpt-emb", dest="latent_as_gpt_emb", action="store_false",
                   help="export latent_as_gpt_emb off (overrides the args)")
    p.add_argument("--no-latent-as-gpt-memory", dest="latent_as_gpt_memory", action="store_false",
                   help="export latent_as_gpt_memory off (overrides the args)")
    p.add_argument("--optimus-reload-flags", action="store_true",
                   help="export both flags on, as Optimus's own evaluation scripts rebuild the decoder "
                        "(from_pretrained without the flags), whatever the run trained with")
    p.add_argument("--trust-pickle", action="store_true",
                   help="read args files / training.bin with weights_only=False (only for trusted files)")
    a = p.parse_args(argv)
    if not a.run and not (a.encoder_dir and a.decoder_dir) and not (a.from_full and a.full):
        p.error("give RUN_DIR, or --encoder-dir and --decoder-dir, or --from-full --full DIR")
    try:
        convert(a)
    except ConvertError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
