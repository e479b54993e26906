// BERT (post-LayerNorm, GELU(erf)) as an encoder family, with avg or cls pooling, BERT's
// pooler (tanh(dense)), and DMLP's Linear(H, 2D, bias=false) -> (mu, logvar). Parameter
// names follow Hugging Face BertModel (embeddings.word_embeddings,
// encoder.layer.N.attention.self.query, pooler.dense, ...) plus "linear". RoBERTa
// (families/roberta.cpp) is this with other position ids. With config.extra_layer (DMLP's
// BertForLatentConnectorNew / RobertaForLatentConnectorNew) one more layer,
// "linear_forbert", runs on the pretrained layers' output, which is computed without
// gradient as DMLP does (torch.no_grad): only that layer, the pooler and "linear" train.
#pragma once

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <nlohmann/json_fwd.hpp>

#include <vector>

#include "model/encoder.h"

namespace latent {

struct BertLayerImpl : torch::nn::Module {
  explicit BertLayerImpl(const EncoderConfig& c);
  at::Tensor forward(const at::Tensor& x /*(B,L,H)*/, const at::Tensor& key_mask /*(B,1,1,L) bool*/);

  int64_t heads;
  double dropout_p;
  bool tanh_gelu;  // activation gelu_new
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, attn_out{nullptr}, inter{nullptr}, out{nullptr};
  torch::nn::LayerNorm attn_norm{nullptr}, out_norm{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(BertLayer);

struct BertEncoderImpl : EncoderImpl {
  BertEncoderImpl(const EncoderConfig& c, int vocab_size, LatentShape latent, int pad_id);
  at::Tensor hidden_states(const at::Tensor& ids, const at::Tensor& mask) override;
  using EncoderImpl::hidden_states;
  at::Tensor pool(const at::Tensor& h, const at::Tensor& mask) override;
  // Position ids (B, L) or (L,): BERT counts from 0.
  virtual at::Tensor position_ids(const at::Tensor& ids, const at::Tensor& mask);

  torch::nn::Embedding word{nullptr}, position{nullptr}, token_type{nullptr};
  torch::nn::LayerNorm emb_norm{nullptr};
  torch::nn::Dropout drop{nullptr};
  std::vector<BertLayer> layers;
  BertLayer extra{nullptr};  // "linear_forbert" (config.extra_layer: DMLP's *New classes)
  torch::nn::Linear pooler{nullptr};
};

// The shape keys BERT's config.json shares with RoBERTa's, ALBERT's and DeBERTa's (hidden_size,
// num_hidden_layers, num_attention_heads, intermediate_size, max_position_embeddings), all
// required and positive, heads dividing the width; into c, which keeps everything else.
EncoderConfig hf_bert_shapes(const nlohmann::json& hf, EncoderConfig c, const std::string& where);
// A BERT-like Hugging Face config.json (BERT, RoBERTa) -> shapes; base keeps pooling and dropout.
EncoderConfig bert_like_from_hf(const nlohmann::json& hf, const EncoderConfig& base, const std::string& where);
// The settings a BERT-like family reads: GELU (erf or tanh), the extra layer; nothing of ALBERT's or T5's.
void check_bert_like(const EncoderConfig& c, const std::string& where, const std::string& family);

}  // namespace latent
