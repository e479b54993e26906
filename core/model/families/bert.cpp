// The BERT encoder family (DMLP's BertForLatentConnector, BertForLatentConnectorAVG and
// BertForLatentConnectorNew).
#include "model/families/bert.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <optional>

#include "model/attention.h"
#include "model/family.h"
#include "model/module_util.h"
#include "model/weight_init.h"
#include "util/error.h"

namespace latent {
namespace nn = torch::nn;

namespace {
constexpr double kInitStd = 0.02;  // BERT's initializer_range

void init_bert(nn::Module& m) {
  torch::NoGradGuard guard;
  for (auto& p : m.named_parameters()) {
    const auto& name = p.key();
    if (name.find("LayerNorm.weight") != std::string::npos) p.value().fill_(1.0);
    else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) p.value().zero_();
    else init_normal(p.value(), kInitStd);
  }
}

nn::LayerNorm layer_norm(const EncoderConfig& c) {
  return nn::LayerNorm(nn::LayerNormOptions({c.hidden}).eps(c.layer_norm_eps));
}
}  // namespace

BertLayerImpl::BertLayerImpl(const EncoderConfig& c)
    : heads(c.heads), dropout_p(c.dropout), tanh_gelu(c.activation == "gelu_new") {
  const int H = c.hidden;
  query = register_at(*this, "attention.self.query", nn::Linear(H, H));
  key = register_at(*this, "attention.self.key", nn::Linear(H, H));
  value = register_at(*this, "attention.self.value", nn::Linear(H, H));
  attn_out = register_at(*this, "attention.output.dense", nn::Linear(H, H));
  attn_norm = register_at(*this, "attention.output.LayerNorm", layer_norm(c));
  inter = register_at(*this, "intermediate.dense", nn::Linear(H, c.intermediate));
  out = register_at(*this, "output.dense", nn::Linear(c.intermediate, H));
  out_norm = register_at(*this, "output.LayerNorm", layer_norm(c));
  drop = register_module("dropout", nn::Dropout(c.dropout));
}

at::Tensor BertLayerImpl::forward(const at::Tensor& x, const at::Tensor& key_mask) {
  const auto q = split_heads(query(x), heads);  // (B, h, L, d)
  const auto k = split_heads(key(x), heads);
  const auto v = split_heads(value(x), heads);
  const auto a = merge_heads(attend(q, k, v, key_mask, is_training() ? dropout_p : 0.0));  // (B, L, H)
  const auto h = attn_norm(x + drop(attn_out(a)));
  return out_norm(h + drop(out(at::gelu(inter(h), tanh_gelu ? "tanh" : "none"))));
}

BertEncoderImpl::BertEncoderImpl(const EncoderConfig& c, int vocab_size, LatentShape latent, int pad)
    : EncoderImpl(c, latent, pad) {
  const int H = c.hidden;
  word = register_at(*this, "embeddings.word_embeddings", nn::Embedding(vocab_size, H));
  position = register_at(*this, "embeddings.position_embeddings", nn::Embedding(c.max_positions, H));
  token_type = register_at(*this, "embeddings.token_type_embeddings", nn::Embedding(c.type_vocab, H));
  emb_norm = register_at(*this, "embeddings.LayerNorm", layer_norm(c));
  drop = register_module("dropout", nn::Dropout(c.dropout));
  for (int i = 0; i < c.layers; ++i)
    layers.push_back(register_at(*this, "encoder.layer." + std::to_string(i), BertLayer(c)));
  pooler = register_at(*this, "pooler.dense", nn::Linear(H, H));
  if (c.extra_layer) extra = register_module("linear_forbert", BertLayer(c));
  init_bert(*this);
  init_latent_projection(H);
}

at::Tensor BertEncoderImpl::position_ids(const at::Tensor& ids, const at::Tensor&) {
  return at::arange(ids.size(1), ids.options());  // (L,)
}

at::Tensor BertEncoderImpl::hidden_states(const at::Tensor& ids, const at::Tensor& mask) {
  const auto key_mask = mask.unsqueeze(1).unsqueeze(1);                           // (B, 1, 1, L)
  at::Tensor h;
  {
    std::optional<torch::NoGradGuard> frozen;  // DMLP's New: the pretrained part under no_grad
    if (extra) frozen.emplace();
    auto pos = position(position_ids(ids, mask));                                 // (L, H) or (B, L, H)
    if (pos.dim() == 2) pos = pos.unsqueeze(0);
    h = word(ids) + pos + token_type(at::zeros_like(ids));                        // (B, L, H)
    h = noisy_embeddings(drop(emb_norm(h)));
    for (auto& layer : layers) h = layer(h, key_mask);
  }
  if (extra) h = extra(h, key_mask);
  return h;
}

at::Tensor BertEncoderImpl::pool(const at::Tensor& h, const at::Tensor& mask) {
  const auto pooled = config.pooling == "cls" ? h.select(1, 0) : masked_mean(h, mask);  // (B, H)
  return at::tanh(pooler(pooled));
}

EncoderConfig hf_bert_shapes(const nlohmann::json& j, EncoderConfig c, const std::string& path) {
  c.hidden = hf_positive_int(j, "hidden_size", path);
  c.layers = hf_positive_int(j, "num_hidden_layers", path);
  c.heads = hf_positive_int(j, "num_attention_heads", path);
  c.intermediate = hf_positive_int(j, "intermediate_size", path);
  c.max_positions = hf_positive_int(j, "max_position_embeddings", path);
  if (c.hidden % c.heads != 0) throw Error(path + ": num_attention_heads", "does not divide hidden_size");
  return c;
}

EncoderConfig bert_like_from_hf(const nlohmann::json& j, const EncoderConfig& base, const std::string& path) {
  EncoderConfig c = hf_bert_shapes(j, base, path);
  c.type_vocab = hf_positive_int(j, "type_vocab_size", path, 2);
  const auto act = j.value("hidden_act", nlohmann::json("gelu"));
  if (act != "gelu") throw Error(path + ": hidden_act", "only \"gelu\" (erf) is supported, got " + act.dump());
  const auto pos = j.value("position_embedding_type", nlohmann::json("absolute"));
  if (pos != "absolute") throw Error(path + ": position_embedding_type", "only \"absolute\" is supported, got " + pos.dump());
  c.layer_norm_eps = hf_positive_number(j, "layer_norm_eps", path, c.layer_norm_eps);
  return c;
}

void check_bert_like(const EncoderConfig& c, const std::string& where, const std::string& family) {
  require(c.activation == "gelu" || c.activation == "gelu_new", where, "activation",
          "the " + family + " family's layers use \"gelu\" or \"gelu_new\", got \"" + c.activation + "\"");
  check_unread_encoder_keys(c, where, family, {"extra_layer"});
}

EncoderFamily bert_family() {
  EncoderFamily f;
  f.name = "bert";
  f.description = "BERT (post-LN, GELU), avg or cls pooling + BERT's pooler";
  f.hf_model_types = {"bert"};
  f.dmlp_classes = {{"BertForLatentConnector", R"({"pooling": "cls"})"},
                    {"BertForLatentConnectorAVG", R"({"pooling": "avg"})"},
                    {"BertForLatentConnectorNew", R"({"pooling": "avg", "extra_layer": true})"}};
  f.tokenizer = "wordpiece";
  f.defaults.arch = "bert";
  f.defaults.layer_norm_eps = 1e-12;
  f.defaults.type_vocab = 2;
  f.from_hf = bert_like_from_hf;
  f.check = [](const EncoderConfig& c, const std::string& where) { check_bert_like(c, where, "bert"); };
  f.make = [](const EncoderConfig& c, const VocabSpec& v, LatentShape latent) -> Encoder {
    return std::make_shared<BertEncoderImpl>(c, v.size, latent, v.ids.pad);
  };
  f.load = [](EncoderImpl& e, io::NamedTensors t, const std::string& path, bool with_latent) {
    return load_by_name(e, std::move(t), path, {"bert."}, {"embeddings.position_ids"}, with_latent, "BERT tensors");
  };
  return f;
}

}  // namespace latent
