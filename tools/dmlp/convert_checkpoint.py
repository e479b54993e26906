#!/usr/bin/env python3
"""Converts a DMLP VAE_DDPM checkpoint (pip `dmlp`, module DMLP) into safetensors files
that latent-studio's DMLP loaders read.

    python3 tools/dmlp/convert_checkpoint.py --full RUN/checkpoint-full-N --ddpm RUN/checkpoint-ddpm-N \\
        --out EXPORT_DIR [--bert BERT_BASE --gpt2 GPT2_BASE]
    python3 tools/dmlp/convert_checkpoint.py --full ... --ddpm ... --out EXPORT_DIR \\
        --encoder-class RobertaForLatentConnector --encoder ROBERTA_BASE --gpt2 GPT2_BASE

--encoder is another name for --bert: the encoder's base, a BERT folder for DMLP's
BertForLatentConnector(AVG/New), a RoBERTa one (RobertaModel + RobertaTokenizer, as
transformers' save_pretrained writes them) for RobertaForLatentConnector(New), an ALBERT one
(AlbertModel + AlbertTokenizer with its spiece.model) for AlbertForLatentConnector, a T5 one
(T5EncoderModel or T5Model + T5Tokenizer with its spiece.model) for T5EncoderForLatentConnector,
a DeBERTa (v1) one (DebertaModel + DebertaTokenizer) for DebertaForLatentConnector(New).
The base's config.json model_type must be the class's (bert / roberta / albert / t5 / deberta).

--encoder-class: BertForLatentConnectorAVG (default), BertForLatentConnector,
BertForLatentConnectorNew, RobertaForLatentConnector, RobertaForLatentConnectorNew,
AlbertForLatentConnector, T5EncoderForLatentConnector, DebertaForLatentConnector,
DebertaForLatentConnectorNew.
--decoder-class: GPT2ForLatentConnectorNew (default), GPT2ForLatentConnector (no extra
block), GPT2ForLatentConnectorNew2 (extra first block, MLP inner size 12 x n_embd).

Run it with the bench venv (bench/setup.sh prints its python): it needs dmlp, torch,
transformers and safetensors.

What DMLP writes (DMLP.utils.save_checkpoint.save_checkpoint, called by train_vae_ddpm):
  checkpoint-full-N/training.bin     {'iter': step, 'model_state_dict': {...}, 'optimizer_state_dict': {...}}
      model_state_dict: the VAE's parameters ("encoder.*", "decoder.*") but ONLY those
      train_vae_ddpm trained (names passing its condition_f; DMLP's recipe keeps names
      containing 'linear', 'wte', 'decoder.transformer.h.0' or 'encoder'). No buffers, no
      lm_head.weight (tied to wte, so named_parameters() lists it once).
  checkpoint-ddpm-N/training_ddpm.bin {'iter': step, 'model_state_dict': DDPM.state_dict()}
      "eps_model.*" (the noise network) and the schedule buffers (beta_t, alpha_t, ...,
      each of length T+1, diff_sigma of length T).
  N is a slot, not the step: 1, or 2 for the best-BLEU save train_vae_ddpm makes; the step
  is 'iter'. No hyper-parameters (args) are stored.

So a checkpoint of DMLP's recipe lacks the frozen decoder weights (wpe, blocks 1..N, ln_f,
lm_head.bias): pass --gpt2 (and --bert / --encoder) with the Hugging Face models the run started
from. The model is then rebuilt as DMLP's recipe builds it (MODEL_CLASS[...].from_pretrained,
the encoder's pad_id from the base's AutoTokenizer, transformer.change_order(), tokens <PAD>
<BOS> <EOS> added, resize_token_embeddings) and the checkpoint is loaded over it. A tensor that neither the checkpoint nor the base
provides (freshly initialised when DMLP built the model, e.g. the extra block 0) is an
error. A checkpoint holding every parameter converts without bases.

Nothing here runs the encoder's forward (RobertaForLatentConnector's and
AlbertForLatentConnector's cast their averaging weights with .half(), which fails in fp32 on
the CPU): its weights are only loaded and saved.

T5EncoderForLatentConnector (pooling "avg"): T5's encoder stack (shared embeddings, relative
position buckets in block 0, RMS layer norms), then a BertPooler (dense + tanh) over the masked
mean of its last hidden states. DMLP's class cannot be built as it is with transformers 4.36:
it sets self.decoder = None, and the _tie_weights it inherits from T5Model (run by
from_pretrained when tie_word_embeddings, T5's default) ties self.decoder.embed_tokens too
(AttributeError: 'NoneType' object has no attribute 'embed_tokens'). While the base is loaded
here, that _tie_weights ties only the encoder's embed_tokens (which is `shared` itself: no
change). encoder.embed_tokens.weight, that same tensor, is not written (shared.weight is). d_kv,
num_heads and relative_attention_num_buckets come from the tensors; feed_forward_proj and
relative_attention_max_distance only from the base's config.json (null without --encoder).

AlbertForLatentConnector (pooling "avg"): AlbertModel, then ALBERT's pooler (a Linear, tanh)
over the masked mean of the last hidden states. ALBERT's layers share weights by group, so
the number of layers (num_hidden_layers) is not in the tensors: it comes from the base's
config.json (dmlp.json's encoder.layers is null when converting without --encoder).

DebertaForLatentConnector (pooling "cls"): DebertaModel (disentangled relative attention), then
DeBERTa's ContextPooler, GELU(dense) of the first token's last hidden state. Its New class
pools the masked mean of linear_forbert's output (pooling "avg").

The "New" encoders (BertForLatentConnectorNew, RobertaForLatentConnectorNew,
DebertaForLatentConnectorNew) add one more transformer layer, "linear_forbert" (a BertLayer /
RobertaLayer / DebertaLayer, freshly initialised by
from_pretrained, so it must come from the checkpoint), run over the base model's last hidden
states (the base itself under torch.no_grad), then the masked mean and the pooler.

Writes into --out:
  encoder.safetensors   the encoder module's state_dict (BertModel, RobertaModel or AlbertModel
                        names, without a "roberta." / "albert." prefix, + "linear.weight"; for
                        the New classes also "linear_forbert.attention.self.query.weight" ...
                        "linear_forbert.output.LayerNorm.bias"; for ALBERT "embeddings.*",
                        "encoder.embedding_hidden_mapping_in.*",
                        "encoder.albert_layer_groups.G.albert_layers.I.*", "pooler.weight/bias";
                        for T5 "shared.weight", "encoder.block.N.layer.0.SelfAttention.q/k/v/o.weight"
                        (block 0 also "...relative_attention_bias.weight"), "...layer.0.layer_norm.weight",
                        "...layer.1.DenseReluDense.wi(_0/_1)/wo.weight", "...layer.1.layer_norm.weight",
                        "encoder.final_layer_norm.weight", "pooler.dense.weight/bias";
                        encoder.embed_tokens.weight, the same tensor as shared.weight, left out;
                        for DeBERTa DebertaModel's names, "encoder.layer.N.attention.self.in_proj.weight",
                        "...q_bias", "...v_bias", "...pos_proj.weight", "...pos_q_proj.weight/bias",
                        "encoder.rel_embeddings.weight", "pooler.dense.weight/bias")
  decoder.safetensors   GPT2ForLatentConnector(New) state_dict after change_order
                        ("transformer.*", "lm_head.bias"); lm_head.weight left out when tied.
                        New/New2: block 0 is DMLP's extra block (New2's MLP: mlp.c_fc.weight
                        (n_embd, 12 n_embd), mlp.c_proj.weight (12 n_embd, n_embd), Conv1D layout)
  eps_model.safetensors the noise network's state_dict (DDPM.eps_model); MLPSkipNet's
                        "layers.i.cond_layers.1.*" aliases of "layers.i.linear_emb.*" left out
  dmlp.json             sizes, schedule, flags, special token ids, the step. Its "encoder"
                        section: class, pooling (avg for BertForLatentConnectorAVG,
                        RobertaForLatentConnector and the New classes, cls for
                        BertForLatentConnector), "extra_layer": true for the New classes only
                        (absent otherwise), vocab_size,
                        hidden_size, layers, ..., pad_token_id and special_token_ids (token -> id)
                        when the base is given; for RoBERTa also "model_type": "roberta" and
                        "special_tokens" (role -> {token, id}: bos/cls <s>, pad, eos/sep </s>,
                        unk, mask); for ALBERT "model_type": "albert", "embedding_size",
                        "num_hidden_groups", "inner_group_num" (and special_token_ids <pad>
                        <unk> [CLS] [SEP] [MASK]); for T5 "model_type": "t5", hidden_size
                        (d_model), layers (num_layers), d_kv, d_ff, num_heads,
                        relative_attention_num_buckets, relative_attention_max_distance,
                        feed_forward_proj (special_token_ids <pad> </s> <unk>); for DeBERTa
                        "model_type": "deberta", the tensor sizes, and relative_attention,
                        pos_att_type, max_relative_positions, position_biased_input from the
                        base's config (special_token_ids [PAD] [CLS] [SEP] [UNK] [MASK]); without
                        model_type the encoder is a BERT. Its "decoder"
                        section: class, extra_first_block (false only for
                        GPT2ForLatentConnector), "extra_block_inner": 12 * n_embd for
                        GPT2ForLatentConnectorNew2 only (block 0's MLP inner size), ...
All tensors float32 and contiguous.
"""
import argparse
import contextlib
import json
import math
import os
import pickle
import re
import sys

import torch
from safetensors.torch import save_file

import DMLP  # noqa: F401  (the package whose checkpoints these are)
from DMLP.models import models as dmlp_models
from DMLP.models.my_transformers import MODEL_CLASS, T5EncoderForLatentConnector

ENCODER_CLASSES = ["BertForLatentConnectorAVG", "BertForLatentConnector", "BertForLatentConnectorNew",
                   "RobertaForLatentConnector", "RobertaForLatentConnectorNew", "AlbertForLatentConnector",
                   "T5EncoderForLatentConnector", "DebertaForLatentConnector", "DebertaForLatentConnectorNew"]
ENCODER_MODEL_TYPE = {"BertForLatentConnectorAVG": "bert", "BertForLatentConnector": "bert",
                      "BertForLatentConnectorNew": "bert", "RobertaForLatentConnector": "roberta",
                      "RobertaForLatentConnectorNew": "roberta",
                      "AlbertForLatentConnector": "albert",
                      "T5EncoderForLatentConnector": "t5",
                      "DebertaForLatentConnector": "deberta", "DebertaForLatentConnectorNew": "deberta"}  # the Hugging Face model_type of each class's base
ENCODER_POOLING = {"BertForLatentConnectorAVG": "avg", "BertForLatentConnector": "cls",
                   "BertForLatentConnectorNew": "avg", "RobertaForLatentConnector": "avg",
                   "RobertaForLatentConnectorNew": "avg",
                   "AlbertForLatentConnector": "avg",
                   "T5EncoderForLatentConnector": "avg",
                   "DebertaForLatentConnector": "cls",  # DeBERTa's ContextPooler on the first token
                   "DebertaForLatentConnectorNew": "avg"}  # RoBERTa's, ALBERT's, T5's, New's: pooler over the masked mean
# Classes with DMLP's extra encoder layer "linear_forbert" (a BertLayer / RobertaLayer over the
# base's last hidden states, before the masked mean and the pooler).
ENCODER_EXTRA_LAYER = {"BertForLatentConnectorNew", "RobertaForLatentConnectorNew", "DebertaForLatentConnectorNew"}
DECODER_CLASSES = ["GPT2ForLatentConnectorNew", "GPT2ForLatentConnector", "GPT2ForLatentConnectorNew2"]
NEW2_INNER_FACTOR = 12  # GPT2ModelForVAENew2: the extra block's n_inner = 12 * hidden_size
SPECIAL_TOKENS = {"pad_token": "<PAD>", "bos_token": "<BOS>", "eos_token": "<EOS>"}  # DMLP's recipe
TIME_EMBED_DIM = 64  # DMLP's MLPSkipNet / TransformerNet time_embed_dim


class ConvertError(Exception):
    pass


def fail(msg):
    raise ConvertError(msg)


def describe(obj):
    if isinstance(obj, dict):
        keys = list(obj.keys())
        more = f", ... ({len(keys)} keys)" if len(keys) > 8 else ""
        return "a dict with keys " + ", ".join(repr(k) for k in keys[:8]) + more
    return f"a {type(obj).__name__}"


def checkpoint_path(given, filename, flag):
    path = os.path.join(given, filename) if os.path.isdir(given) else given
    if not os.path.exists(given):
        fail(f"{flag} {given}: no such file or folder")
    if not os.path.isfile(path):
        fail(f"{flag} {given}: {filename} missing (DMLP's save_checkpoint writes {filename} in that folder)")
    return path


def load_checkpoint(path, trust_pickle):
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if not trust_pickle:
            fail(f"{path}: holds objects other than tensors and plain containers ({str(e).splitlines()[0]}); "
                 "rerun with --trust-pickle if you trust the file")
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # truncated file, not a torch file, ...
        fail(f"{path}: cannot be read by torch.load ({type(e).__name__}: {e})")
    if not isinstance(obj, dict) or "model_state_dict" not in obj:
        fail(f"{path}: expected DMLP's checkpoint dict {{'iter', 'model_state_dict', ...}}, found {describe(obj)}")
    state = obj["model_state_dict"]
    if not isinstance(state, dict) or not state:
        fail(f"{path}: 'model_state_dict' is {describe(state)}, expected a non-empty dict of tensors")
    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        fail(f"{path}: 'model_state_dict' has non-tensor entries: {bad[:5]}")
    if all(k.startswith("module.") for k in state):  # saved from a DataParallel wrapper
        state = {k[len("module."):]: v for k, v in state.items()}
    step = obj.get("iter")
    return {"step": int(step) if isinstance(step, (int, torch.Tensor)) else None, "state": state,
            "keys": sorted(obj.keys())}


def split_vae_state(state, path):
    enc, dec, other = {}, {}, []
    for k, v in state.items():
        if k.startswith("encoder."):
            enc[k[len("encoder."):]] = v
        elif k.startswith("decoder."):
            dec[k[len("decoder."):]] = v
        else:
            other.append(k)
    if other:
        fail(f"{path}: 'model_state_dict' has keys outside the VAE's encoder./decoder.: {other[:8]}"
             + (" (is this a DDPM checkpoint? pass it as --ddpm)" if any(k.startswith("eps_model.") for k in other)
                else ""))
    if not enc and not dec:
        fail(f"{path}: 'model_state_dict' has no encoder.* or decoder.* tensors")
    return enc, dec


def f32(t):
    return t.detach().to(torch.float32).contiguous().clone()


# ---------------------------------------------------------------- noise network

def layer_indices(state, prefix):
    idx = set()
    for k in state:
        m = re.match(re.escape(prefix) + r"(\d+)\.", k)
        if m:
            idx.add(int(m.group(1)))
    n = len(idx)
    if idx != set(range(n)):
        fail(f"eps_model: layer indices under {prefix} are not 0..{n - 1}: {sorted(idx)}")
    return n


def need(state, keys, what):
    missing = [k for k in keys if k not in state]
    if missing:
        fail(f"{what}: missing {missing[:6]}" + (f" and {len(missing) - 6} more" if len(missing) > 6 else ""))


def convert_noise_net(eps, latent):
    """eps: the eps_model.* part of the DDPM state without the prefix -> (tensors, json info)."""
    keys = set(eps)
    if "time_embed.0.weight" in keys and "layers.0.linear.weight" in keys:
        L = layer_indices(eps, "layers.")
        hidden, D = eps["layers.0.linear.weight"].shape
        out, dropped = {}, []
        need(eps, ["time_embed.0.weight", "time_embed.0.bias", "time_embed.2.weight", "time_embed.2.bias"], "MLPSkipNet")
        if tuple(eps["time_embed.0.weight"].shape) != (D, TIME_EMBED_DIM):
            fail(f"MLPSkipNet: time_embed.0.weight is {tuple(eps['time_embed.0.weight'].shape)}, expected ({D}, 64)")
        for i in range(L):
            last = i == L - 1
            p = f"layers.{i}."
            want = {p + "linear.weight": (D if last else hidden, D if i == 0 else hidden + D),
                    p + "linear.bias": (D if last else hidden,)}
            if not last:
                want.update({p + "linear_emb.weight": (hidden, D), p + "linear_emb.bias": (hidden,),
                             p + "norm.weight": (hidden,), p + "norm.bias": (hidden,)})
            need(eps, list(want), "MLPSkipNet")
            for k, shape in want.items():
                if tuple(eps[k].shape) != shape:
                    fail(f"MLPSkipNet: {k} is {tuple(eps[k].shape)}, expected {shape}")
            for s in ("weight", "bias"):  # cond_layers = Sequential(SiLU, linear_emb): the same tensors
                alias = p + "cond_layers.1." + s
                if alias in eps:
                    if not torch.equal(eps[alias], eps[p + "linear_emb." + s]):
                        fail(f"MLPSkipNet: {alias} differs from {p}linear_emb.{s} (they should be one module)")
                    dropped.append(alias)
        for k, v in eps.items():
            if k not in dropped:
                out[k] = f32(v)
        extra = [k for k in out if not (k.startswith("time_embed.") or re.match(r"layers\.\d+\.(linear|linear_emb|norm)\.", k))]
        if extra:
            fail(f"MLPSkipNet: unexpected tensors {extra[:6]}")
        info = {"type": "mlp_skip", "dmlp_class": "MLPSkipNet", "layers": L, "hidden": int(hidden),
                "time_embed_dim": TIME_EMBED_DIM, "dropped_aliases": len(dropped)}
        cls = dmlp_models.MLPSkipNet
    elif "transformer_encoder.layers.0.self_attn.in_proj_weight" in keys:
        N = layer_indices(eps, "transformer_encoder.layers.")
        need(eps, ["linear_1.weight", "linear_1.bias", "linear_2.weight", "linear_2.bias", "time_embed.0.weight",
                   "time_embed.2.weight"], "TransformerNet")
        E = eps["transformer_encoder.layers.0.self_attn.in_proj_weight"].shape[1]
        D = eps["linear_1.weight"].shape[1]
        out = {k: f32(v) for k, v in eps.items()}
        info = {"type": "transformer", "dmlp_class": "TransformerNet", "layers": N, "hidden": int(E),
                "tokens": int(eps["linear_1.weight"].shape[0] // E),
                "ffn": int(eps["transformer_encoder.layers.0.linear1.weight"].shape[0]),
                "heads": 8, "dropout": 0.1, "time_embed_dim": TIME_EMBED_DIM,
                "note": "heads/dropout are DMLP's hard-coded values (not in the state); DMLP runs its encoder "
                        "with batch_first=False, i.e. attention across the batch"}
        cls = dmlp_models.TransformerNet
    elif "timeembed.lin1.weight" in keys:
        D = eps["timeembed.lin1.weight"].shape[0]
        need(eps, ["timeembed.lin2.weight", "timeembed.lin2.bias", "linear.0.0.weight", "linear.0.0.bias",
                   "linear.1.0.weight", "linear.1.0.bias", "linear.2.weight", "linear.2.bias"], "LinearModel")
        out = {k: f32(v) for k, v in eps.items()}
        info = {"type": "linear", "dmlp_class": "LinearModel"}
        cls = dmlp_models.LinearModel
    else:
        fail("eps_model: not a DMLP noise network I know (MLPSkipNet, TransformerNet, LinearModel); "
             f"its tensors: {sorted(keys)[:10]}")
    if D != latent:
        fail(f"eps_model works on latents of {D}, the encoder's linear gives {latent}")
    # Is it DMLP's class at its own (hard-coded) size? Built on the meta device: no memory.
    with torch.device("meta"):
        ref = cls(int(D)).state_dict()
    ref_shapes = {k: tuple(v.shape) for k, v in ref.items() if not re.match(r"layers\.\d+\.cond_layers\.", k)}
    info["dmlp_default_size"] = ref_shapes == {k: tuple(v.shape) for k, v in out.items()}
    return out, info


def describe_schedule(buffers):
    if "beta_t" not in buffers:
        fail(f"DDPM state has no beta_t buffer (found: {sorted(buffers)[:10]})")
    beta = buffers["beta_t"].to(torch.float64)
    T = beta.numel() - 1
    if T < 1:
        fail(f"beta_t has {beta.numel()} entries, need T+1 >= 2")
    for name in ("alpha_t", "sqrtab", "sqrtmab", "oneover_sqrta", "sqrt_beta_t", "mab_over_sqrtmab", "loss_weight"):
        if name in buffers and buffers[name].numel() != T + 1:
            fail(f"DDPM buffer {name} has {buffers[name].numel()} entries, beta_t has {T + 1}")
    alpha = 1 - beta
    alphabar = torch.cumsum(torch.log(alpha), 0).exp()
    if "alphabar_t" in buffers and not torch.allclose(buffers["alphabar_t"].double(), alphabar, rtol=1e-4, atol=1e-6):
        fail("DDPM buffers: alphabar_t is not exp(cumsum(log(1 - beta_t))) (not DMLP's ddpm_schedule?)")
    values = [float(x) for x in buffers["beta_t"].tolist()]
    sched = {"T": T, "beta_t": values}
    if float(beta.max() - beta.min()) <= 1e-9:
        sched.update(schedule="constant", beta=values[0])
    else:
        b1, b2 = float(beta[0]), float(beta[-1])
        lin = b1 + (b2 - b1) * torch.arange(T + 1, dtype=torch.float64) / T
        if torch.allclose(beta, lin, rtol=1e-5, atol=1e-8):
            sched.update(schedule="linear", beta1=b1, beta2=b2)
        else:
            sched.update(schedule="custom")
    return sched


# ---------------------------------------------------------------- encoder / decoder

def rebuild_from_bases(a, latent):
    """DMLP's recipe: the modules as they were before training; plus which tensors are fresh
    (random) there, i.e. must come from the checkpoint."""
    from transformers import AutoTokenizer
    kw = {"local_files_only": not a.download}
    res = {}
    if a.bert:
        check_encoder_base(a, kw)
        tok = AutoTokenizer.from_pretrained(a.bert, **kw)
        with t5_tie_encoder_only() if ENCODER_MODEL_TYPE[a.encoder_class] == "t5" else contextlib.nullcontext():
            enc, info = MODEL_CLASS[a.encoder_class].from_pretrained(a.bert, latent_size=latent,
                                                                     pad_id=tok.pad_token_id,
                                                                     output_loading_info=True, **kw)
        res["encoder"] = (enc.eval(), set(info["missing_keys"]), tok)
    if a.gpt2:
        tok = AutoTokenizer.from_pretrained(a.gpt2, **kw)
        dec, info = MODEL_CLASS[a.decoder_class].from_pretrained(a.gpt2, latent_size=latent,
                                                                 latent_as_gpt_emb=a.latent_as_gpt_emb,
                                                                 latent_as_gpt_memory=a.latent_as_gpt_memory,
                                                                 output_loading_info=True, **kw)
        fresh_ids = {id(t) for n, t in dec.state_dict(keep_vars=True).items() if n in set(info["missing_keys"])}
        base_vocab = dec.transformer.wte.weight.shape[0]
        if hasattr(dec.transformer, "change_order"):
            dec.transformer.change_order()
        tok.add_special_tokens(dict(SPECIAL_TOKENS))
        dec.resize_token_embeddings(len(tok))
        fresh = {n for n, t in dec.state_dict(keep_vars=True).items() if id(t) in fresh_ids}
        if len(tok) != base_vocab:
            fresh.add("transformer.wte.weight")  # new rows are random
        res["decoder"] = (dec.eval(), fresh, tok, base_vocab)
    return res


@contextlib.contextmanager
def t5_tie_encoder_only():
    """T5EncoderForLatentConnector._tie_weights is T5Model's less its decoder line inside the block:
    DMLP sets self.decoder = None, so T5Model's fails (AttributeError) whenever tie_word_embeddings."""
    cls = T5EncoderForLatentConnector

    def tie(self):
        if self.config.tie_word_embeddings:
            self._tie_or_clone_weights(self.encoder.embed_tokens, self.shared)

    own = cls.__dict__.get("_tie_weights")
    cls._tie_weights = tie
    try:
        yield
    finally:
        if own is None:
            del cls._tie_weights
        else:
            cls._tie_weights = own


def check_encoder_base(a, kw):
    """The base must be of the family DMLP's class is (a RoBERTa folder for RobertaForLatentConnector):
    transformers would load a BERT folder into a RoBERTa class with a warning only."""
    from transformers import AutoConfig
    try:
        model_type = AutoConfig.from_pretrained(a.bert, **kw).model_type
    except Exception as e:
        fail(f"--bert/--encoder {a.bert}: cannot read its config.json ({type(e).__name__}: {str(e).splitlines()[0]})")
    want = ENCODER_MODEL_TYPE[a.encoder_class]
    if model_type != want:
        fail(f"--bert/--encoder {a.bert} is a {model_type} model, but {a.encoder_class} needs a {want} one "
             "(wrong --encoder-class?)")


def merge(module, fresh, ck, what, allow_fresh=()):
    """Loads checkpoint tensors ck over the rebuilt module; returns its full state."""
    full = module.state_dict()
    unexpected = [k for k in ck if k not in full]
    if unexpected:
        fail(f"{what}: the checkpoint has tensors the rebuilt {type(module).__name__} lacks: {unexpected[:6]} "
             "(wrong --encoder-class/--decoder-class or base model?)")
    wrong = [f"{k} {tuple(v.shape)} vs {tuple(full[k].shape)}" for k, v in ck.items() if v.shape != full[k].shape]
    if wrong:
        fail(f"{what}: checkpoint shapes differ from the rebuilt model's: {wrong[:4]} (wrong base model or --latent?)")
    unfilled = sorted(k for k in fresh if k not in ck and k in full and k not in allow_fresh)
    if unfilled:
        fail(f"{what}: {unfilled[:6]} are freshly initialised when DMLP builds the model from the base, "
             "and the checkpoint does not hold them")
    module.load_state_dict(ck, strict=False)
    state = module.state_dict()
    sources = {k: ("checkpoint" if k in ck else "fresh" if k in fresh else "base") for k in state}
    return state, sources


ENC_BLOCK = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
             "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"]
DEC_BLOCK = ["ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj"]


ALBERT_BLOCK = ["attention.query", "attention.key", "attention.value", "attention.dense", "attention.LayerNorm",
                "ffn", "ffn_output", "full_layer_layer_norm"]


def check_complete_albert_encoder(st):
    groups = layer_indices(st, "encoder.albert_layer_groups.")
    keys = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
            "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
            "encoder.embedding_hidden_mapping_in.weight", "encoder.embedding_hidden_mapping_in.bias",
            "pooler.weight", "pooler.bias", "linear.weight"]
    for g in range(groups):
        inner = layer_indices(st, f"encoder.albert_layer_groups.{g}.albert_layers.")
        keys += [f"encoder.albert_layer_groups.{g}.albert_layers.{i}.{m}.{s}" for i in range(max(inner, 1))
                 for m in ALBERT_BLOCK for s in ("weight", "bias")]
    missing = [k for k in keys if k not in st]
    if missing or groups == 0:
        fail(f"encoder: the checkpoint lacks {len(missing) or 'all layer group'} tensors, e.g. {missing[:4]}; it holds "
             "only what DMLP trained: pass --bert/--encoder BASE (the ALBERT the run started from)")


T5_BLOCK = ["layer.0.SelfAttention.q", "layer.0.SelfAttention.k", "layer.0.SelfAttention.v", "layer.0.SelfAttention.o",
            "layer.0.layer_norm", "layer.1.DenseReluDense.wo", "layer.1.layer_norm"]


def t5_feed_forward_in(st):
    """The feed-forward input projections: wi, or wi_0 and wi_1 for the gated activations."""
    return ["wi_0", "wi_1"] if "encoder.block.0.layer.1.DenseReluDense.wi_0.weight" in st else ["wi"]


def check_complete_t5_encoder(st):
    n = layer_indices(st, "encoder.block.")
    keys = ["shared.weight", "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
            "encoder.final_layer_norm.weight", "pooler.dense.weight", "pooler.dense.bias", "linear.weight"]
    keys += [f"encoder.block.{i}.{m}.weight" for i in range(n)
             for m in T5_BLOCK + [f"layer.1.DenseReluDense.{w}" for w in t5_feed_forward_in(st)]]
    missing = [k for k in keys if k not in st]
    if missing or n == 0:
        fail(f"encoder: the checkpoint lacks {len(missing) or 'all block'} tensors, e.g. {missing[:4]}; it holds "
             "only what DMLP trained: pass --bert/--encoder BASE (the T5 the run started from)")


DEBERTA_BLOCK = ["attention.self.in_proj.weight", "attention.self.q_bias", "attention.self.v_bias",
                 "attention.output.dense.weight", "attention.output.dense.bias", "attention.output.LayerNorm.weight",
                 "attention.output.LayerNorm.bias", "intermediate.dense.weight", "intermediate.dense.bias",
                 "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias"]


def check_complete_deberta_encoder(st, encoder_class):
    """DeBERTa's optional tensors (position and token-type embeddings, embed_proj, the relative
    ones) depend on its config, which a checkpoint does not hold: only the fixed ones are required."""
    n = layer_indices(st, "encoder.layer.")
    keys = ["embeddings.word_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
            "pooler.dense.weight", "pooler.dense.bias", "linear.weight"]
    keys += [f"encoder.layer.{i}.{m}" for i in range(n) for m in DEBERTA_BLOCK]
    if encoder_class in ENCODER_EXTRA_LAYER:
        keys += [f"linear_forbert.{m}" for m in DEBERTA_BLOCK]
    missing = [k for k in keys if k not in st]
    if missing or n == 0:
        fail(f"encoder: the checkpoint lacks {len(missing) or 'all layer'} tensors, e.g. {missing[:4]}; it holds "
             "only what DMLP trained: pass --bert/--encoder BASE (the DeBERTa the run started from)")


def check_complete_encoder(st, encoder_class):
    if ENCODER_MODEL_TYPE[encoder_class] == "albert":
        return check_complete_albert_encoder(st)
    if ENCODER_MODEL_TYPE[encoder_class] == "t5":
        return check_complete_t5_encoder(st)
    if ENCODER_MODEL_TYPE[encoder_class] == "deberta":
        return check_complete_deberta_encoder(st, encoder_class)
    n = layer_indices(st, "encoder.layer.")
    keys = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
            "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
            "pooler.dense.weight", "pooler.dense.bias", "linear.weight"]
    keys += [f"encoder.layer.{i}.{m}.{s}" for i in range(n) for m in ENC_BLOCK for s in ("weight", "bias")]
    if encoder_class in ENCODER_EXTRA_LAYER:
        keys += [f"linear_forbert.{m}.{s}" for m in ENC_BLOCK for s in ("weight", "bias")]
    missing = [k for k in keys if k not in st]
    if missing or n == 0:
        fail(f"encoder: the checkpoint lacks {len(missing) or 'all block'} tensors, e.g. {missing[:4]}; it holds "
             "only what DMLP trained: pass --bert/--encoder BASE (the BERT or RoBERTa the run started from)")


def check_complete_decoder(st):
    n = layer_indices(st, "transformer.h.")
    if "transformer.linear.weight" in st and "transformer.wte.weight" in st:  # one memory vector per block
        n = max(n, st["transformer.linear.weight"].shape[0] // st["transformer.wte.weight"].shape[1])
    keys = ["transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight", "transformer.ln_f.bias",
            "transformer.linear.weight", "transformer.linear_emb.weight"]
    keys += [f"transformer.h.{i}.{m}.{s}" for i in range(n) for m in DEC_BLOCK for s in ("weight", "bias")]
    missing = [k for k in keys if k not in st]
    if missing or n == 0:
        fail(f"decoder: the checkpoint lacks {len(missing) or 'all block'} tensors, e.g. {missing[:4]}; DMLP saves "
             "only the parameters it trained (wte, block 0, linear*, by its recipe): pass --gpt2 BASE "
             "(the GPT-2 the run started from)")


def albert_encoder_info(st, a, base):
    """The ALBERT encoder section (only ALBERT exports have embedding_size, num_hidden_groups,
    inner_group_num). layers (num_hidden_layers) is not in the tensors: the base's config gives it."""
    word = st["embeddings.word_embeddings.weight"]
    groups = layer_indices(st, "encoder.albert_layer_groups.")
    inner = layer_indices(st, "encoder.albert_layer_groups.0.albert_layers.")
    info = {"class": a.encoder_class, "model_type": "albert", "pooling": ENCODER_POOLING[a.encoder_class],
            "vocab_size": int(word.shape[0]),
            "hidden_size": int(st["encoder.embedding_hidden_mapping_in.weight"].shape[0]),
            "layers": None, "embedding_size": int(word.shape[1]), "num_hidden_groups": groups,
            "inner_group_num": inner,
            "intermediate_size": int(st["encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"].shape[0]),
            "max_position_embeddings": int(st["embeddings.position_embeddings.weight"].shape[0]),
            "type_vocab_size": int(st["embeddings.token_type_embeddings.weight"].shape[0]),
            "base": a.bert, "hf_config": None, "pad_token_id": None, "special_token_ids": None}
    if base:
        enc, _, tok = base
        c = enc.config
        if (c.num_hidden_groups, c.inner_group_num, c.embedding_size) != (groups, inner, info["embedding_size"]):
            fail(f"--encoder {a.bert}: config.json's num_hidden_groups {c.num_hidden_groups}, inner_group_num "
                 f"{c.inner_group_num}, embedding_size {c.embedding_size} are not the tensors' {groups}, {inner}, "
                 f"{info['embedding_size']}")
        info["layers"] = int(c.num_hidden_layers)
        keys = ["vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_hidden_groups",
                "inner_group_num", "num_attention_heads", "intermediate_size", "max_position_embeddings",
                "type_vocab_size", "layer_norm_eps", "hidden_act", "position_embedding_type"]
        info["hf_config"] = {k: getattr(c, k, None) for k in keys}
        info["pad_token_id"] = tok.pad_token_id
        order = [tok.pad_token, tok.unk_token, tok.cls_token, tok.sep_token, tok.mask_token]  # <pad> <unk> [CLS] [SEP] [MASK]
        info["special_token_ids"] = {t: tok.convert_tokens_to_ids(t) for t in order if t}
        info["tokenizer_length"] = len(tok)
    else:
        print("note: ALBERT's num_hidden_layers is not in the tensors (layers share their group's weights): "
              "dmlp.json encoder.layers is null; pass --encoder BASE to record it", file=sys.stderr)
    return info


def t5_encoder_info(st, a, base):
    """The T5 encoder section: sizes from the tensors (the heads and the buckets from block 0's
    relative_attention_bias, (buckets, heads)); feed_forward_proj and relative_attention_max_distance
    are not in the tensors: the base's config gives them."""
    shared = st["shared.weight"]
    buckets, heads = st["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"].shape
    inner = int(st["encoder.block.0.layer.0.SelfAttention.q.weight"].shape[0])
    if inner % heads:
        fail(f"encoder: SelfAttention.q.weight has {inner} rows, not a multiple of the {heads} heads")
    ff_in = t5_feed_forward_in(st)
    info = {"class": a.encoder_class, "model_type": "t5", "pooling": ENCODER_POOLING[a.encoder_class],
            "vocab_size": int(shared.shape[0]), "hidden_size": int(shared.shape[1]),
            "layers": layer_indices(st, "encoder.block."), "d_kv": inner // int(heads),
            "d_ff": int(st[f"encoder.block.0.layer.1.DenseReluDense.{ff_in[0]}.weight"].shape[0]),
            "num_heads": int(heads), "relative_attention_num_buckets": int(buckets),
            "relative_attention_max_distance": None, "feed_forward_proj": None,
            "base": a.bert, "hf_config": None, "pad_token_id": None, "special_token_ids": None}
    if base:
        enc, _, tok = base
        c = enc.config
        got = (c.d_model, c.num_layers, c.d_kv, c.d_ff, c.num_heads, c.relative_attention_num_buckets, c.is_gated_act)
        want = (info["hidden_size"], info["layers"], info["d_kv"], info["d_ff"], info["num_heads"],
                info["relative_attention_num_buckets"], len(ff_in) == 2)
        if got != want:
            fail(f"--encoder {a.bert}: config.json's d_model, num_layers, d_kv, d_ff, num_heads, "
                 f"relative_attention_num_buckets, is_gated_act {got} are not the tensors' {want}")
        info["relative_attention_max_distance"] = int(c.relative_attention_max_distance)
        info["feed_forward_proj"] = c.feed_forward_proj
        keys = ["vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_heads", "relative_attention_num_buckets",
                "relative_attention_max_distance", "feed_forward_proj", "dense_act_fn", "is_gated_act",
                "layer_norm_epsilon", "pad_token_id", "eos_token_id"]
        info["hf_config"] = {k: getattr(c, k, None) for k in keys}
        info["pad_token_id"] = tok.pad_token_id
        order = [tok.pad_token, tok.eos_token, tok.unk_token]  # <pad> </s> <unk>
        info["special_token_ids"] = {t: tok.convert_tokens_to_ids(t) for t in order if t}
        info["tokenizer_length"] = len(tok)
    else:
        print("note: T5's feed_forward_proj and relative_attention_max_distance are not in the tensors: dmlp.json "
              "has null for them; pass --encoder BASE to record them", file=sys.stderr)
    return info


def deberta_encoder_info(st, a, base):
    """The DeBERTa encoder section: sizes from the tensors; the attention settings
    (relative_attention, pos_att_type, max_relative_positions, position_biased_input) only from
    the base's config.json (null without --encoder)."""
    word = st["embeddings.word_embeddings.weight"]
    hidden = int(st["embeddings.LayerNorm.weight"].shape[0])
    info = {"class": a.encoder_class, "model_type": "deberta", "pooling": ENCODER_POOLING[a.encoder_class]}
    if a.encoder_class in ENCODER_EXTRA_LAYER:
        info["extra_layer"] = True
    info.update({"vocab_size": int(word.shape[0]), "hidden_size": hidden, "embedding_size": int(word.shape[1]),
                 "layers": layer_indices(st, "encoder.layer."),
                 "intermediate_size": int(st["encoder.layer.0.intermediate.dense.weight"].shape[0]),
                 "relative_attention": None, "pos_att_type": None, "max_relative_positions": None,
                 "position_biased_input": None,
                 "base": a.bert, "hf_config": None, "pad_token_id": None, "special_token_ids": None})
    if base:
        enc, _, tok = base
        c = enc.config
        for k in ("relative_attention", "pos_att_type", "max_relative_positions", "position_biased_input"):
            info[k] = getattr(c, k, None)
        keys = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "hidden_act", "relative_attention",
                "pos_att_type", "max_relative_positions", "position_biased_input", "pooler_hidden_act",
                "pooler_hidden_size", "pad_token_id"]
        info["hf_config"] = {k: getattr(c, k, None) for k in keys}
        info["pad_token_id"] = tok.pad_token_id
        order = [tok.pad_token, tok.cls_token, tok.sep_token, tok.unk_token, tok.mask_token]  # [PAD] [CLS] [SEP] [UNK] [MASK]
        info["special_token_ids"] = {t: tok.convert_tokens_to_ids(t) for t in order if t}
        info["tokenizer_length"] = len(tok)
    else:
        print("note: DeBERTa's attention settings are not in the tensors: dmlp.json has null for them; pass "
              "--encoder BASE to record them", file=sys.stderr)
    return info


def encoder_info(st, a, base):
    if ENCODER_MODEL_TYPE[a.encoder_class] == "albert":
        return albert_encoder_info(st, a, base)
    if ENCODER_MODEL_TYPE[a.encoder_class] == "t5":
        return t5_encoder_info(st, a, base)
    if ENCODER_MODEL_TYPE[a.encoder_class] == "deberta":
        return deberta_encoder_info(st, a, base)
    word = st["embeddings.word_embeddings.weight"]
    n = layer_indices(st, "encoder.layer.")
    model_type = ENCODER_MODEL_TYPE[a.encoder_class]
    info = {"class": a.encoder_class}
    if model_type != "bert":  # (absent for BERT: exports made before RoBERTa stay as they were)
        info["model_type"] = model_type
    info["pooling"] = ENCODER_POOLING[a.encoder_class]
    if a.encoder_class in ENCODER_EXTRA_LAYER:  # (absent for the other classes: their exports stay as they were)
        info["extra_layer"] = True
    info.update({"vocab_size": int(word.shape[0]), "hidden_size": int(word.shape[1]), "layers": n,
                 "intermediate_size": int(st["encoder.layer.0.intermediate.dense.weight"].shape[0]),
                 "max_position_embeddings": int(st["embeddings.position_embeddings.weight"].shape[0]),
                 "type_vocab_size": int(st["embeddings.token_type_embeddings.weight"].shape[0]),
                 "base": a.bert, "hf_config": None, "pad_token_id": None, "special_token_ids": None})
    if base:
        enc, _, tok = base
        c = enc.config
        keys = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "hidden_act", "position_embedding_type"]
        if model_type == "roberta":  # position ids count from pad_token_id + 1
            keys += ["pad_token_id", "bos_token_id", "eos_token_id"]
        info["hf_config"] = {k: getattr(c, k, None) for k in keys}
        info["pad_token_id"] = tok.pad_token_id
        if model_type == "roberta":
            roles = [("bos", tok.bos_token), ("cls", tok.cls_token), ("pad", tok.pad_token), ("eos", tok.eos_token),
                     ("sep", tok.sep_token), ("unk", tok.unk_token), ("mask", tok.mask_token)]
            order = [tok.bos_token, tok.pad_token, tok.eos_token, tok.unk_token, tok.mask_token]  # <s> <pad> </s> <unk> <mask>
        else:
            roles = []
            order = [tok.pad_token, tok.unk_token, tok.cls_token, tok.sep_token, tok.mask_token]
        info["special_token_ids"] = {t: tok.convert_tokens_to_ids(t) for t in order if t}
        if roles:
            info["special_tokens"] = {r: {"token": t, "id": tok.convert_tokens_to_ids(t)} for r, t in roles if t}
            if c.pad_token_id != tok.pad_token_id:
                fail(f"--encoder {a.bert}: config.json's pad_token_id {c.pad_token_id} is not the tokenizer's "
                     f"{tok.pad_token_id} (RoBERTa's position ids start after it)")
        info["tokenizer_length"] = len(tok)
    return info


def decoder_info(st, a, base, tied, bias_source):
    wte = st["transformer.wte.weight"]
    H = int(wte.shape[1])
    n = layer_indices(st, "transformer.h.")
    mem = int(st["transformer.linear.weight"].shape[0])
    if mem % H:
        fail(f"decoder: transformer.linear.weight has {mem} rows, not a multiple of n_embd {H}")
    info = {"class": a.decoder_class, "extra_first_block": a.decoder_class != "GPT2ForLatentConnector"}
    if a.decoder_class == "GPT2ForLatentConnectorNew2":  # (only for New2: the other exports stay as they were)
        inner = int(st["transformer.h.0.mlp.c_fc.weight"].shape[1]) if "transformer.h.0.mlp.c_fc.weight" in st else None
        if inner != NEW2_INNER_FACTOR * H:
            fail(f"decoder: GPT2ForLatentConnectorNew2's block 0 should have an MLP of {NEW2_INNER_FACTOR} x n_embd = "
                 f"{NEW2_INNER_FACTOR * H}, transformer.h.0.mlp.c_fc.weight gives {inner} (wrong --decoder-class?)")
        info["extra_block_inner"] = inner
    info.update({"latent_as_gpt_emb": a.latent_as_gpt_emb, "latent_as_gpt_memory": a.latent_as_gpt_memory,
                 "vocab_size": int(wte.shape[0]), "n_embd": H, "blocks": n, "memory_slots": mem // H,
                 "n_positions": int(st["transformer.wpe.weight"].shape[0]),
                 "lm_head_tied": tied, "lm_head_bias": bias_source,
                 "base": a.gpt2, "hf_config": None, "base_vocab_size": None, "special_tokens": None})
    if mem // H != n:
        print(f"note: decoder memory projection gives {mem // H} vectors for {n} blocks", file=sys.stderr)
    if base:
        dec, _, tok, base_vocab = base
        c = dec.config
        info["hf_config"] = {k: getattr(c, k, None) for k in (
            "vocab_size", "n_embd", "n_layer", "n_head", "n_inner", "n_positions", "layer_norm_epsilon",
            "activation_function", "scale_attn_weights", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn")}
        info["hf_config"]["n_layer_note"] = "n_layer after change_order (blocks incl. the extra one)"
        info["base_vocab_size"] = base_vocab
        info["special_tokens"] = {k.replace("_token", ""): {"token": v, "id": tok.convert_tokens_to_ids(v)}
                                  for k, v in SPECIAL_TOKENS.items()}
        info["tokenizer_length"] = len(tok)
    return info


def write_safetensors(tensors, path):
    tmp = path + ".partial"
    save_file({k: f32(v) for k, v in sorted(tensors.items())}, tmp, metadata={"format": "pt"})
    os.replace(tmp, path)


def convert(a):
    full_path = checkpoint_path(a.full, "training.bin", "--full")
    ddpm_path = checkpoint_path(a.ddpm, "training_ddpm.bin", "--ddpm")
    full = load_checkpoint(full_path, a.trust_pickle)
    ddpm = load_checkpoint(ddpm_path, a.trust_pickle)
    enc_ck, dec_ck = split_vae_state(full["state"], full_path)

    eps = {k[len("eps_model."):]: v for k, v in ddpm["state"].items() if k.startswith("eps_model.")}
    buffers = {k: v for k, v in ddpm["state"].items() if not k.startswith("eps_model.")}
    if not eps:
        fail(f"{ddpm_path}: no eps_model.* tensors in 'model_state_dict' (found {sorted(ddpm['state'])[:6]}"
             + ("; is this the full checkpoint? pass it as --full)" if any(k.startswith("encoder.") for k in ddpm["state"])
                else ")"))
    odd = [k for k in buffers if "." in k]
    if odd:
        fail(f"{ddpm_path}: unexpected tensors besides eps_model.* and the schedule buffers: {odd[:6]}")

    if a.encoder_class not in ENCODER_EXTRA_LAYER and any(k.startswith("linear_forbert.") for k in enc_ck):
        fits = sorted(c for c in ENCODER_EXTRA_LAYER if ENCODER_MODEL_TYPE[c] == ENCODER_MODEL_TYPE[a.encoder_class])
        fail(f"{full_path}: the encoder has linear_forbert.* tensors (DMLP's extra encoder layer), which "
             f"{a.encoder_class} lacks: pass --encoder-class "
             + (" or ".join(fits) if fits else "of a class that has it (DMLP has none on a "
                f"{ENCODER_MODEL_TYPE[a.encoder_class]} base)"))
    if "linear.weight" in enc_ck:
        latent = enc_ck["linear.weight"].shape[0] // 2
    elif "transformer.linear_emb.weight" in dec_ck:
        latent = dec_ck["transformer.linear_emb.weight"].shape[1]
    else:
        fail(f"{full_path}: neither encoder.linear.weight nor decoder.transformer.linear_emb.weight is there: "
             "cannot tell the latent size")
    if a.latent is not None and a.latent != latent:
        fail(f"--latent {a.latent}, but the checkpoint's latent size is {latent}")

    bases = rebuild_from_bases(a, latent)
    if "encoder" in bases:
        enc_state, enc_src = merge(bases["encoder"][0], bases["encoder"][1], enc_ck, "encoder")
    else:
        check_complete_encoder(enc_ck, a.encoder_class)
        enc_state, enc_src = dict(enc_ck), {k: "checkpoint" for k in enc_ck}
    if "decoder" in bases:
        dec_state, dec_src = merge(bases["decoder"][0], bases["decoder"][1], dec_ck, "decoder",
                                   allow_fresh=("lm_head.bias",))
    else:
        check_complete_decoder(dec_ck)
        dec_state, dec_src = dict(dec_ck), {k: "checkpoint" for k in dec_ck}

    if ENCODER_MODEL_TYPE[a.encoder_class] == "t5" and "encoder.embed_tokens.weight" in enc_state:
        # DMLP's T5 stack embeds with `shared` itself: one tensor under two names; shared.weight is written.
        if not torch.equal(enc_state["encoder.embed_tokens.weight"], enc_state["shared.weight"]):
            fail("encoder: encoder.embed_tokens.weight differs from shared.weight (DMLP's T5 encoder uses one module)")
        del enc_state["encoder.embed_tokens.weight"]

    V = dec_state["transformer.wte.weight"].shape[0]
    tied = True
    if "lm_head.weight" in dec_state:
        if torch.equal(dec_state["lm_head.weight"], dec_state["transformer.wte.weight"]):
            del dec_state["lm_head.weight"]
        else:
            tied = False
            print("note: lm_head.weight differs from transformer.wte.weight: kept (untied)", file=sys.stderr)
    if "lm_head.bias" in dec_state:
        bias_source = dec_src.get("lm_head.bias", "checkpoint")
        if bias_source == "fresh":  # not in the base: DMLP's init gives zeros, and it is frozen
            bias_source = "zeros"
            if dec_state["lm_head.bias"].abs().max() != 0:
                fail("decoder: lm_head.bias is neither in the checkpoint nor the base and not zero")
    else:
        dec_state["lm_head.bias"] = torch.zeros(V)
        bias_source = "zeros"
        print("note: lm_head.bias not in the checkpoint: written as zeros (DMLP initialises it to 0)", file=sys.stderr)
    if dec_state["lm_head.bias"].shape != (V,):
        fail(f"decoder: lm_head.bias has shape {tuple(dec_state['lm_head.bias'].shape)}, vocabulary is {V}")

    eps_state, net = convert_noise_net(eps, latent)
    sched = describe_schedule(buffers)

    enc = encoder_info(enc_state, a, bases.get("encoder"))
    dec = decoder_info(dec_state, a, bases.get("decoder"), tied, bias_source)
    enc["from_checkpoint"] = sum(1 for k in enc_state if enc_src.get(k) == "checkpoint")
    enc["from_base"] = sum(1 for k in enc_state if enc_src.get(k) == "base")
    dec["from_checkpoint"] = sum(1 for k in dec_state if dec_src.get(k) == "checkpoint")
    dec["from_base"] = sum(1 for k in dec_state if dec_src.get(k) == "base")

    if full["step"] != ddpm["step"]:
        print(f"note: training.bin is from step {full['step']}, training_ddpm.bin from step {ddpm['step']}",
              file=sys.stderr)
    meta = {
        "format": "latent-studio dmlp export", "version": 1,
        "step": full["step"], "ddpm_step": ddpm["step"],
        "source": {"full": short_path(full_path), "ddpm": short_path(ddpm_path), "dmlp": "dmlp (pip) " + dmlp_version()},
        "latent_size": int(latent),
        "ddpm_weight": a.ddpm_weight,
        "ddpm_weight_note": "not stored in DMLP checkpoints: from --ddpm-weight",
        "encoder": enc,
        "decoder": dec,
        "diffusion": sched,
        "noise_net": net,
        "files": {"encoder": "encoder.safetensors", "decoder": "decoder.safetensors", "eps_model": "eps_model.safetensors"},
    }
    os.makedirs(a.out, exist_ok=True)
    write_safetensors(enc_state, os.path.join(a.out, "encoder.safetensors"))
    write_safetensors(dec_state, os.path.join(a.out, "decoder.safetensors"))
    write_safetensors(eps_state, os.path.join(a.out, "eps_model.safetensors"))
    tmp = os.path.join(a.out, "dmlp.json.partial")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(a.out, "dmlp.json"))
    print(f"{a.out}: step {full['step']}, latent {latent}, T {sched['T']} ({sched['schedule']}), "
          f"encoder {len(enc_state)} tensors ({enc['from_checkpoint']} from the checkpoint), "
          f"decoder {len(dec_state)} ({dec['from_checkpoint']} from the checkpoint), "
          f"noise net {net['type']} {len(eps_state)} tensors")
    return meta


def short_path(path):  # checkpoint-full-N/training.bin: the run folder is not recorded
    path = os.path.abspath(path)
    return os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))


def dmlp_version():
    try:
        from importlib.metadata import version
        return version("dmlp")
    except Exception:
        return "?"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", required=True, help="checkpoint-full-N folder (or its training.bin)")
    p.add_argument("--ddpm", required=True, help="checkpoint-ddpm-N folder (or its training_ddpm.bin)")
    p.add_argument("--out", required=True, help="export folder (created)")
    p.add_argument("--bert", "--encoder", dest="bert",
                   help="the encoder's base model (HF folder or cached hub id) the run started from: a BERT, or a "
                        "RoBERTa for --encoder-class RobertaForLatentConnector(New), an ALBERT for "
                        "AlbertForLatentConnector, a T5 for T5EncoderForLatentConnector")
    p.add_argument("--gpt2", help="the decoder's base model (HF folder or cached hub id) the run started from")
    p.add_argument("--encoder-class", default="BertForLatentConnectorAVG", choices=ENCODER_CLASSES)
    p.add_argument("--decoder-class", default="GPT2ForLatentConnectorNew", choices=DECODER_CLASSES)
    p.add_argument("--no-latent-as-gpt-emb", dest="latent_as_gpt_emb", action="store_false",
                   help="the run built the decoder with latent_as_gpt_emb=False (not stored in checkpoints)")
    p.add_argument("--no-latent-as-gpt-memory", dest="latent_as_gpt_memory", action="store_false",
                   help="the run built the decoder with latent_as_gpt_memory=False (not stored in checkpoints)")
    p.add_argument("--ddpm-weight", type=float, default=10.0, help="VAE_DDPM's ddpm_weight (not stored; DMLP: 10)")
    p.add_argument("--latent", type=int, help="expected latent size (checked)")
    p.add_argument("--download", action="store_true", help="let transformers download --bert/--encoder, --gpt2")
    p.add_argument("--trust-pickle", action="store_true", help="unpickle arbitrary objects (only for trusted files)")
    a = p.parse_args(argv)
    if not math.isfinite(a.ddpm_weight):
        p.error("--ddpm-weight must be finite")
    try:
        convert(a)
    except ConvertError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
