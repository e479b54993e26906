// What every encoder family is to the rest of the model: token ids -> hidden states ->
// one pooled vector -> Linear(pooled, 2D, bias=false) -> (mu, logvar); or, with pooling
// "tokens" (t5-vae), Linear(H, 2 D/n) on each of the first n hidden states, mu through tanh,
// flattened to (B, D). A family (BERT,
// RoBERTa, ...) implements hidden_states and pool under its Hugging Face parameter names
// and registers "linear" (DMLP's latent projection) with init_latent_projection. The
// families and how they are found: model/family.h.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <memory>

#include "model/config.h"

namespace latent {

struct EncoderOutput {
  at::Tensor mu;      // (B, D)
  at::Tensor logvar;  // (B, D) as predicted (the fixed posterior ignores it)
};

struct EncoderImpl : torch::nn::Module {
  EncoderImpl(const EncoderConfig& c, LatentShape latent, int pad_id)
      : config(c), latent_dim(latent.dim), latent_tokens(latent.tokens), pad_id(pad_id) {}
  ~EncoderImpl() override = default;

  // ids (B, L) int64 with pad_id after the tokens; returns the posterior parameters (B, D).
  EncoderOutput forward(const at::Tensor& ids);
  // The last layer's hidden states (B, L, H), as the Hugging Face model's last_hidden_state;
  // mask (B, L) bool: true on real tokens.
  virtual at::Tensor hidden_states(const at::Tensor& ids, const at::Tensor& mask) = 0;
  at::Tensor hidden_states(const at::Tensor& ids) { return hidden_states(ids, ids.ne(pad_id)); }
  // The family's sentence vector (B, H) from hidden states (pooling and pooler).
  virtual at::Tensor pool(const at::Tensor& h, const at::Tensor& mask) = 0;

  EncoderConfig config;
  int latent_dim;     // D
  int latent_tokens;  // n (pooling "tokens" reads n positions; otherwise only D matters)
  int64_t pad_id;  // positions holding it are masked out of attention and pooling
  torch::nn::Linear linear{nullptr};

 protected:
  // Registers "linear" (H -> 2D, or H -> 2D/n with pooling "tokens"; no bias) with an O(1)
  // start; call last in the constructor.
  void init_latent_projection(int hidden);
  // DAVAE's input noise: emb + N(0, embedding_noise^2) while training (config.embedding_noise
  // > 0), emb unchanged otherwise. Families call it on their input embeddings.
  at::Tensor noisy_embeddings(const at::Tensor& emb) const;
};
using Encoder = std::shared_ptr<EncoderImpl>;

// Masked mean over the sequence: h (B, L, H), mask (B, L) bool -> (B, H).
at::Tensor masked_mean(const at::Tensor& h, const at::Tensor& mask);

}  // namespace latent
