// GPT-2-style decoder conditioned on a latent z (pre-LayerNorm blocks, GELU(tanh) MLP of
// 4H, learned positions, LayerNorm eps 1e-5, LM head tied to the token embedding).
//
// The latent enters (each switchable):
//  - as embedding: Linear(D, H, bias=false)(z) added to every position ("linear_emb");
//  - as memory: Linear(D, H*(blocks), bias=false)(z) split into one H-vector per block,
//    used as an extra key AND value at position 0 of that block's attention ("linear").
// With the memory slot, real tokens take position ids from 1 (GPT-2 with a past of 1).
// "New" variant: an extra first block (block 0) before the N "pretrained" blocks.
//
// Names follow Hugging Face GPT2LMHeadModel under "decoder.": transformer.wte,
// transformer.wpe, transformer.h.N.{ln_1,attn.c_attn,attn.c_proj,ln_2,mlp.c_fc,mlp.c_proj},
// transformer.ln_f, transformer.linear, transformer.linear_emb. Weights are nn::Linear
// [out, in] (HF's Conv1D stores [in, out]: an importer transposes).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

#include "model/config.h"
#include "model/kv_cache.h"

namespace latent {

struct GPT2BlockImpl : torch::nn::Module {
  GPT2BlockImpl(const DecoderConfig& c);
  // x (B, L, H) new tokens; cache holds earlier keys/values (memory slot first) and
  // receives this call's. Returns (B, L, H).
  at::Tensor forward(const at::Tensor& x, LayerCache& cache);

  int64_t heads;
  double dropout_p;
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  torch::nn::Linear c_attn{nullptr}, attn_proj{nullptr}, c_fc{nullptr}, mlp_proj{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(GPT2Block);

struct DecoderImpl : torch::nn::Module {
  DecoderImpl(const DecoderConfig& c, int vocab_size, int latent_dim);

  int num_blocks() const { return static_cast<int>(blocks.size()); }
  // Position id of the first real token: 1 with the memory slot, else 0.
  int64_t position_offset() const { return config.latent_as_memory ? 1 : 0; }

  // A cache for decoding up to max_tokens tokens from z (B, D): memory slots filled.
  KVCache start(const at::Tensor& z, int64_t max_tokens);
  // Feeds new tokens ids (B, L) after what the cache holds; returns logits (B, L, V).
  at::Tensor step(KVCache& cache, const at::Tensor& ids);
  // Teacher-forced logits for whole sequences (training): ids (B, L), z (B, D) -> (B, L, V).
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& z);

  DecoderConfig config;
  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  std::vector<GPT2Block> blocks;
  torch::nn::LayerNorm ln_f{nullptr};
  torch::nn::Linear linear{nullptr}, linear_emb{nullptr};  // latent as memory / as embedding
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(Decoder);

}  // namespace latent
