#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/) from the
committed fixtures and the embedded default model. Plain Python, no packages.

    python3 tests/fuzz/make_seeds.py

Multi-file targets take "@@@ NAME\\n" CONTENT sections (see tests/fuzz/fuzz_files.h).
Seeds are small on purpose: libFuzzer mutates them, and small inputs run fast.
"""
import json
import os
import shutil
import struct
import subprocess
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HF = os.path.join(ROOT, "tests", "fixtures", "hf")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")


def read(*parts):
    with open(os.path.join(ROOT, *parts), "rb") as f:
        return f.read()


def pack(files):
    """files: [(name, bytes)] -> one fuzz input."""
    out = b""
    for name, data in files:
        if out and not out.endswith(b"\n"):
            out += b"\n"
        out += b"@@@ " + name.encode() + b"\n" + data
    return out


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, raw bytes)] -> a safetensors file, laid out in order."""
    header, offset, data = {}, 0, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def write_target(target, seeds):
    d = os.path.join(OUT, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("%-24s %d seeds, %d bytes" % (target, len(seeds), sum(len(v) for v in seeds.values())))


def small_vocab_txt(n=400):
    lines = read("tests", "fixtures", "hf", "minilm", "vocab.txt").split(b"\n")
    keep = lines[:110] + [l for l in lines[1000:] if l.isalpha()][: n - 110]
    return b"\n".join(keep) + b"\n"


def llama_tokenizer_json():
    """A small tokenizer.json in SmolLM2's layout (digits split, byte-level BPE, specials)."""
    vocab = json.loads(read("tests", "fixtures", "hf", "tiny-gpt2", "vocab.json"))
    merges = [m for m in read("tests", "fixtures", "hf", "tiny-gpt2", "merges.txt").decode().split("\n")
              if m and not m.startswith("#version")]
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    base = {k: v for k, v in vocab.items() if k not in specials}
    vocab = {s: i for i, s in enumerate(specials)}
    for k in sorted(base, key=base.get):
        vocab[k] = len(vocab)
    doc = {
        "version": "1.0",
        "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, s in enumerate(specials)],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "byte_fallback": False,
                  "vocab": vocab, "merges": merges},
    }
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|im_start|>",
              "eos_token": "<|im_end|>", "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}
    return json.dumps(doc).encode(), json.dumps(config).encode()


def folder(path, names):
    return [(n, read(*path, n)) for n in names if os.path.exists(os.path.join(ROOT, *path, n))]


def main():
    # safetensors: Python-written fixtures and a few shapes of our own.
    write_target("fuzz_safetensors_index", {
        "python_dtypes": read("tests", "fixtures", "safetensors", "python_dtypes.safetensors"),
        "hf_style": read("tests", "fixtures", "safetensors", "hf_style.safetensors"),
        "empty": safetensors([]),
        "metadata": safetensors([("a", "F32", [2, 1], f32(1, 2)), ("b", "I64", [0, 3], b"")], {"format": "pt"}),
    })

    tok_json, tok_cfg = llama_tokenizer_json()
    hf = ("tests", "fixtures", "hf")
    write_target("fuzz_tokenizer_folder", {
        "gpt2": pack(folder(hf + ("tiny-gpt2",), ["vocab.json", "merges.txt"])),
        "roberta": pack(folder(hf + ("tiny-roberta",), ["vocab.json", "merges.txt", "tokenizer_config.json",
                                                        "special_tokens_map.json", "config.json"])),
        "deberta": pack(folder(hf + ("tiny-deberta",), ["vocab.json", "merges.txt", "tokenizer_config.json",
                                                        "special_tokens_map.json", "config.json"])),
        "albert": pack(folder(hf + ("tiny-albert",), ["spiece.model", "tokenizer_config.json",
                                                      "special_tokens_map.json", "config.json"])),
        "t5": pack(folder(hf + ("tiny-t5",), ["spiece.model", "tokenizer_config.json", "added_tokens.json",
                                              "special_tokens_map.json", "config.json"])),
        # Randeng-DAVAE's decoder tokenizer: T5's with <|endoftext|> and <bos> added (added_tokens.json).
        "t5_davae": pack(folder(("tests", "fixtures", "davae", "export", "gpt"),
                                ["spiece.model", "tokenizer_config.json", "added_tokens.json", "special_tokens_map.json"])),
        "wordpiece": pack([("vocab.txt", small_vocab_txt())] + folder(hf + ("minilm",), ["tokenizer_config.json"])),
        "llama": pack([("tokenizer.json", tok_json), ("tokenizer_config.json", tok_cfg)]),
    })

    default = ("resources", "models", "default")
    weights = safetensors([("encoder.embed.weight", "F32", [2, 2], f32(1, 2, 3, 4)),
                           ("decoder.head.bias", "F16", [2], b"\x00\x3c\x00\x40")])
    write_target("fuzz_model_folder", {
        "default": pack([("config.json", read(*default, "config.json")), ("model.safetensors", weights),
                         ("tokenizer.model", read(*default, "tokenizer.model"))]),
        "imported": pack([("config.json", read(*default, "config.json")), ("model.safetensors", weights),
                          ("encoder_tokenizer/vocab.txt", small_vocab_txt(200))]
                         + [("encoder_tokenizer/" + n, d) for n, d in folder(hf + ("minilm",), ["tokenizer_config.json"])]
                         + [("decoder_tokenizer/" + n, d) for n, d in folder(hf + ("tiny-gpt2",), ["vocab.json", "merges.txt"])]),
    })

    write_target("fuzz_sentencepiece", {
        "default": read(*default, "tokenizer.model"),
        "albert": read(*hf, "tiny-albert", "spiece.model"),
    })

    write_target("fuzz_corpus", {
        "text": b"\x00The cat sat on the mat.\n\n  spaced   out \t line  \ncaf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac\n\xff\xfe bad utf8\n",
        "jsonl": b'\x01{"text": "one sentence", "label": 1}\n{"text": 3}\nnot json\n{"other": "x"}\n[1,2]\n',
        "dedupe_long": b"\x06same\nsame\n" + b"long " * 40 + b"\n",
        "jsonl_fields": b'\x09{"text": "good", "label": "pos", "stars": 5, "meta": {"a": 1}}\n{"text": "bad", "ok": false}\n',
    })

    train = {"type": "train", "step": 10, "epoch": 0, "loss": 2.5, "rec": 2.1, "ddpm": 0.4, "kl": 0.0,
             "lr": 1e-4, "sentences_per_sec": 120.5}
    ev = {"type": "eval", "step": 50, "bleu": 12.5, "n": 100, "best": True, "samples": ["a b c"]}
    write_target("fuzz_metrics_log", {
        "run": ("\n".join(json.dumps(x) for x in [train, ev, dict(train, step=60), dict(ev, step=100)]) + "\n").encode(),
        "damaged": b'{"type": "train", "step": "7"}\n{"type": "eval", "step": 5, "bleu": "x"}\n{"type":\n\n[1]\n',
    })

    def npy(header, data):
        h = header + " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data
    write_target("fuzz_npy", {
        "matrix": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", struct.pack("<6f", *range(6))),
        "vector": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", struct.pack("<4f", 1, 2, 3, 4)),
        "empty": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", b""),
        "v2": b"\x93NUMPY\x02\x00" + struct.pack("<I", 64) + b"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }".ljust(63) + b"\n" + struct.pack("<f", 7),
        "f8": npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", struct.pack("<d", 1)),
    })

    # LibTorch-side targets (built by the asan preset; tests/sanitize/run.sh asan).
    dmlp = ("tests", "fixtures", "dmlp")
    cfg = lambda *path: read(*path, "config.json")
    bert, gpt2 = dmlp + ("trained", "bert"), dmlp + ("trained", "gpt2")
    write_target("fuzz_hf_config", {
        name: pack([("encoder/config.json", cfg(*enc)), ("decoder/config.json", cfg(*dec))])
        for name, enc, dec in [("bert_gpt2", bert, gpt2), ("roberta_gpt2", hf + ("tiny-roberta",), gpt2),
                               ("albert_gpt2", hf + ("tiny-albert",), gpt2), ("t5_gpt2", hf + ("tiny-t5",), gpt2),
                               ("deberta_gpt2", hf + ("tiny-deberta",), gpt2),
                               ("deberta_abs_gpt2", hf + ("tiny-deberta-abs",), gpt2),
                               ("bert_llama", bert, hf + ("tiny-llama",)), ("bert_qwen2", bert, hf + ("tiny-qwen2",)),
                               ("bert_llama_linear", bert, hf + ("tiny-llama-linear",))]
    })
    seeds = {d: pack([("dmlp.json", read(*dmlp, d, "export", "dmlp.json"))])
             for d in sorted(os.listdir(os.path.join(ROOT, *dmlp))) if d.startswith("trained")}
    seeds["optimus"] = pack([("dmlp.json", read("tests", "fixtures", "optimus", "export", "dmlp.json"))])
    write_target("fuzz_dmlp_json", seeds)

    # Our config.json: the tiny model that fuzz_model_config imports from the fixtures (made
    # here by latent-cli, when it is built), plus the default model's (other tokenizers).
    seeds = {"default": pack([("config.json", read(*default, "config.json"))])}
    cli = os.environ.get("LATENT_CLI", os.path.join(ROOT, "build", "bin", "latent-cli"))
    if os.path.exists(cli):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([cli, "import-hf", "--encoder", os.path.join(ROOT, *bert), "--decoder", os.path.join(ROOT, *gpt2),
                            "--preset", "tiny", "--out", os.path.join(tmp, "m")], check=True, stdout=subprocess.DEVNULL)
            with open(os.path.join(tmp, "m", "config.json"), "rb") as f:
                base = f.read()
        seeds["tiny_import"] = pack([("config.json", base)])
        j = json.loads(base)
        j["model"]["noise_net"] = {"type": "transformer"}
        j["model"]["diffusion"] = {"schedule": "cosine", "steps": 50}
        seeds["tiny_import_transformer"] = pack([("config.json", json.dumps(j).encode())])
    else:
        print("fuzz_model_config: no latent-cli at %s: its seeds are left as they are" % cli)
        return
    write_target("fuzz_model_config", seeds)


if __name__ == "__main__":
    main()
