// BERT-style sentence encoder (post-LayerNorm, GELU(erf), LayerNorm eps 1e-12) with
// avg or cls pooling, BERT's pooler, and Linear(H, 2D, bias=false) -> (mu, logvar).
// Parameter names follow Hugging Face BertModel under the prefix "encoder."
// (embeddings.word_embeddings, encoder.layer.N.attention.self.query, pooler.dense, ...)
// plus "linear" (DMLP's latent projection).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <utility>
#include <vector>

#include "model/config.h"

namespace latent {

struct BertLayerImpl : torch::nn::Module {
  BertLayerImpl(const EncoderConfig& c);
  at::Tensor forward(const at::Tensor& x /*(B,L,H)*/, const at::Tensor& key_mask /*(B,1,1,L) bool*/);

  int64_t heads;
  double dropout_p;
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, attn_out{nullptr}, inter{nullptr}, out{nullptr};
  torch::nn::LayerNorm attn_norm{nullptr}, out_norm{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(BertLayer);

struct EncoderOutput {
  at::Tensor mu;      // (B, D)
  at::Tensor logvar;  // (B, D) as predicted (the fixed posterior ignores it)
};

struct EncoderImpl : torch::nn::Module {
  EncoderImpl(const EncoderConfig& c, int vocab_size, int latent_dim, int pad_id = 0);
  // ids (B, L) int64 with pad_id after the tokens; returns the posterior parameters.
  EncoderOutput forward(const at::Tensor& ids);
  // The last layer's hidden states (B, L, H), as Hugging Face's BertModel.last_hidden_state.
  at::Tensor hidden_states(const at::Tensor& ids);

  EncoderConfig config;
  int latent_dim;
  int64_t pad_id;  // positions holding it are masked out of attention and pooling
  torch::nn::Embedding word{nullptr}, position{nullptr}, token_type{nullptr};
  torch::nn::LayerNorm emb_norm{nullptr};
  torch::nn::Dropout drop{nullptr};
  std::vector<BertLayer> layers;
  torch::nn::Linear pooler{nullptr}, linear{nullptr};
};
TORCH_MODULE(Encoder);

}  // namespace latent
