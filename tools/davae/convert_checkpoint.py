#!/usr/bin/env python3
"""Converts a DAVAE model folder (Fengshenbang-LM's DAVAEModel, e.g. IDEA-CCNL/Randeng-DAVAE-1.2B-General-Chinese)
into the export folder `latent-cli import-dmlp` reads.

    python3 tools/davae/convert_checkpoint.py RANDENG_DIR --out EXPORT_DIR
    latent-cli import-dmlp --checkpoint EXPORT_DIR --encoder EXPORT_DIR/bert --decoder EXPORT_DIR/gpt --out MODEL_DIR

RANDENG_DIR is what DAVAEModel.from_pretrained reads plus the two tokenizers that
fengshen/examples/DAVAE/generate.py loads from the same folder:
  config.json          PretrainedConfig: "encoder" (a BertConfig dict), "decoder" (a TransfoXLConfig dict
                       with GPT2ModelForLatent's keys: vocab_size, hidden_size, num_layers,
                       num_attention_heads, max_sequence_length, relative_encoding, ...), "latent_size",
                       and simulate_batch's settings (std_scale, temperature, top_k, top_p,
                       repetition_penalty, max_out_length)
  pytorch_model.bin    DAVAEModel.state_dict(): vae_model.encoder.* (BertForLatentConnector: BertModel names
  (or model.safetensors)  without "bert.", + linear.weight (2 x latent, hidden), no bias),
                       vae_model.decoder.* (GPT2ModelForLatent: word_embeddings, transformer.*),
                       vae_model.Disc.* (the adversarial discriminator)
  vocab.txt            the encoder's BertTokenizer
  spiece.model         the decoder's T5Tokenizer, which generate.py builds with eos_token "<|endoftext|>",
                       pad_token "<pad>", extra_ids 0, then add_special_tokens({"bos_token": "<bos>"})

pytorch_model.bin is read with torch.load(weights_only=True): tensors only, no code.

Writes into --out:
  encoder.safetensors  the encoder's tensors without "vae_model.encoder." (BertModel names + linear.weight)
  decoder.safetensors  the decoder's without "vae_model.decoder." (the inv_freq buffer and Disc.* dropped);
                       word_embeddings cut to the tokenizer's length if the checkpoint has more rows
  bert/                BertTokenizer.save_pretrained + config.json (model_type bert), for the tokenizer
                       and shapes import-dmlp reads
  gpt/                 the decoder tokenizer as generate.py builds it, save_pretrained (spiece.model,
                       tokenizer_config.json with the special tokens, added_tokens.json) + config.json:
                       the decoder dict as GPT2ModelForLatent reads it, model_type "davae-gpt2"
  dmlp.json            "davae": true, latent_size, "posterior": "learned" (DAVAE's connect: mean, logvar
                       from the encoder's linear), encoder (class BertForLatentConnector, pooling cls:
                       the pooler on [CLS]), decoder (class GPT2ModelForLatent, the latent as an embedding
                       after every layer, no memory), the special tokens, "davae_generation" (the
                       config's decoding settings), and the sections import_dmlp requires although DAVAE
                       has no diffusion prior ("ddpm_weight": 0, "diffusion" and "noise_net" marked
                       "placeholder": true)
Needs torch, safetensors, transformers (for TransfoXLConfig and the tokenizers) and sentencepiece: the
bench venv (bench/setup.sh) has them.
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file

EOS, PAD, BOS = "<|endoftext|>", "<pad>", "<bos>"


def fail(msg):
    raise SystemExit(f"convert_checkpoint: {msg}")


def read_state(d):
    st, binf = os.path.join(d, "model.safetensors"), os.path.join(d, "pytorch_model.bin")
    if os.path.exists(st):
        return load_file(st), "model.safetensors"
    if os.path.exists(binf):
        state = torch.load(binf, map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            fail(f"{binf}: not a state dict")
        return state, "pytorch_model.bin"
    fail(f"{d}: neither model.safetensors nor pytorch_model.bin")


def part(state, prefix):
    out = {k[len(prefix):]: v.detach().float().contiguous() for k, v in state.items() if k.startswith(prefix)}
    if not out:
        fail(f"no tensors under {prefix!r}: is this a DAVAEModel checkpoint?")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    from transformers import BertConfig, BertTokenizer, T5Tokenizer, TransfoXLConfig

    with open(os.path.join(a.model_dir, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    for key in ("encoder", "decoder", "latent_size"):
        if key not in cfg:
            fail(f"{a.model_dir}/config.json: no {key!r}: not a DAVAEModel config")
    latent = int(cfg["latent_size"])
    # As DAVAEModel.load_model reads them.
    enc_cfg = BertConfig.from_dict(cfg["encoder"])
    dec_cfg = TransfoXLConfig.from_dict(cfg["decoder"])
    if not getattr(dec_cfg, "relative_encoding", False):
        fail("decoder.relative_encoding is not true: GPT2ModelForLatent cannot run without it")

    state, source = read_state(a.model_dir)
    enc = part(state, "vae_model.encoder.")
    dec = part(state, "vae_model.decoder.")
    dropped = sorted(k for k in state if not k.startswith(("vae_model.encoder.", "vae_model.decoder.")))
    dec.pop("transformer.position_embeddings.inv_freq", None)
    if enc["linear.weight"].shape != (2 * latent, enc_cfg.hidden_size):
        fail(f"encoder linear.weight is {tuple(enc['linear.weight'].shape)}, expected (2 x {latent}, {enc_cfg.hidden_size})")
    if dec["transformer.linear_emb.weight"].shape != (dec_cfg.hidden_size, latent):
        fail(f"decoder transformer.linear_emb.weight is {tuple(dec['transformer.linear_emb.weight'].shape)}")

    # The tokenizers, as fengshen/examples/DAVAE/generate.py makes them.
    enc_tok = BertTokenizer.from_pretrained(a.model_dir)
    dec_tok = T5Tokenizer.from_pretrained(a.model_dir, eos_token=EOS, pad_token=PAD, extra_ids=0)
    dec_tok.add_special_tokens({"bos_token": BOS})
    rows = dec["word_embeddings.weight"].shape[0]
    if rows < len(dec_tok):
        fail(f"the decoder has {rows} embedding rows but its tokenizer {len(dec_tok)} tokens")
    cut = rows - len(dec_tok)
    if cut:
        dec["word_embeddings.weight"] = dec["word_embeddings.weight"][: len(dec_tok)].contiguous()
    if enc["embeddings.word_embeddings.weight"].shape[0] != len(enc_tok):
        fail(f"the encoder has {enc['embeddings.word_embeddings.weight'].shape[0]} embedding rows, vocab.txt {len(enc_tok)}")

    os.makedirs(a.out, exist_ok=True)
    bert_dir, gpt_dir = os.path.join(a.out, "bert"), os.path.join(a.out, "gpt")
    enc_tok.save_pretrained(bert_dir)
    hf_enc = enc_cfg.to_dict()
    hf_enc["model_type"] = "bert"
    with open(os.path.join(bert_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(hf_enc, f, indent=1)
    dec_tok.save_pretrained(gpt_dir)
    hf_dec = {"model_type": "davae-gpt2", "vocab_size": len(dec_tok), "hidden_size": dec_cfg.hidden_size,
              "num_layers": dec_cfg.num_layers, "num_attention_heads": dec_cfg.num_attention_heads,
              "max_sequence_length": dec_cfg.max_sequence_length, "relative_encoding": True,
              "max_memory_length": getattr(dec_cfg, "max_memory_length", 0), "latent_size": latent}
    with open(os.path.join(gpt_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(hf_dec, f, indent=1)
    save_file(enc, os.path.join(a.out, "encoder.safetensors"))
    save_file(dec, os.path.join(a.out, "decoder.safetensors"))

    ids = {name: {"token": tok, "id": dec_tok.convert_tokens_to_ids(tok)} for name, tok in (("pad", PAD), ("bos", BOS), ("eos", EOS))}
    export = {
        "format": "latent-studio dmlp export", "version": 1, "davae": True,
        "source": {"model": os.path.basename(os.path.abspath(a.model_dir)), "weights": source,
                   "fengshen": "IDEA-CCNL/Fengshenbang-LM fengshen/models/DAVAE (DAVAEModel, GPT2ModelForLatent)"},
        "latent_size": latent, "ddpm_weight": 0.0,
        "ddpm_weight_note": "DAVAE has no diffusion prior; import_dmlp requires the key",
        "posterior": "learned",
        "encoder": {"class": "BertForLatentConnector", "pooling": "cls", "vocab_size": len(enc_tok),
                    "hidden_size": enc_cfg.hidden_size, "layers": enc_cfg.num_hidden_layers},
        "decoder": {"class": "GPT2ModelForLatent", "latent_as_gpt_emb": True, "latent_as_gpt_memory": False,
                    "latent_every_layer": True, "vocab_size": len(dec_tok), "hidden_size": dec_cfg.hidden_size,
                    "blocks": dec_cfg.num_layers, "embedding_rows_cut": cut, "special_tokens": ids,
                    "label_note": "DAVAE pads labels with <|endoftext|> and its loss ignores that id, so it never "
                                  "trains the end token; import-dmlp's model pads with <pad> and trains the end"},
        "dropped_tensors": dropped,
        "davae_generation": {k: cfg[k] for k in ("std_scale", "temperature", "top_k", "top_p", "repetition_penalty",
                                                 "max_out_length") if k in cfg},
        "diffusion": {"T": 2000, "schedule": "constant", "beta": 0.008, "placeholder": True,
                      "note": "not DAVAE's: DMLP's defaults, present only because import_dmlp requires the section"},
        "noise_net": {"type": "mlp_skip", "dmlp_class": "MLPSkipNet", "placeholder": True,
                      "note": "DAVAE has no noise network; present only because import_dmlp requires the section"},
        "files": {"encoder": "encoder.safetensors", "decoder": "decoder.safetensors"},
    }
    with open(os.path.join(a.out, "dmlp.json"), "w", encoding="utf-8") as f:
        json.dump(export, f, indent=1)
    print(f"wrote {a.out}: encoder {len(enc)} tensors, decoder {len(dec)} tensors, dropped {len(dropped)}"
          f"{f', {cut} embedding rows past the tokenizer cut' if cut else ''}", file=sys.stderr)


if __name__ == "__main__":
    main()
