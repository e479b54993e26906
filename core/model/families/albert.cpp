// The ALBERT encoder family (DMLP's AlbertForLatentConnector): factorised embeddings
// (width embedding_size, mapped to hidden by encoder.embedding_hidden_mapping_in), layers
// that share weights by group (num_hidden_layers / num_hidden_groups consecutive layers
// run the same group's inner_group_num layers), post-LN, GELU(tanh) by default, and a
// pooler (tanh(Linear)) on the masked mean (DMLP) or the first token. Parameter names:
// Hugging Face AlbertModel ("albert." prefix accepted). Tokenizer: SentencePiece with
// ALBERT's text preprocessing (text/codec.h, "albert-spm").
//
// DMLP's class casts its averaging weights to fp16 (it trains under CUDA autocast), which
// fails in fp32; the mean here is the fp32 one (its 1/n weights are not rounded to fp16).
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "model/attention.h"
#include "model/families/bert.h"
#include "model/family.h"
#include "model/module_util.h"
#include "model/weight_init.h"
#include "util/error.h"

namespace latent {
namespace nn = torch::nn;

namespace {
constexpr double kInitStd = 0.02;

at::Tensor activate(const at::Tensor& x, const std::string& act) {
  return act == "gelu_new" ? at::gelu(x, "tanh") : at::gelu(x);
}

struct AlbertLayerImpl : nn::Module {
  explicit AlbertLayerImpl(const EncoderConfig& c) : heads(c.heads), act(c.activation) {
    const int H = c.hidden;
    const auto ln = nn::LayerNormOptions({H}).eps(c.layer_norm_eps);
    query = register_at(*this, "attention.query", nn::Linear(H, H));
    key = register_at(*this, "attention.key", nn::Linear(H, H));
    value = register_at(*this, "attention.value", nn::Linear(H, H));
    dense = register_at(*this, "attention.dense", nn::Linear(H, H));
    attn_norm = register_at(*this, "attention.LayerNorm", nn::LayerNorm(ln));
    ffn = register_module("ffn", nn::Linear(H, c.intermediate));
    ffn_output = register_module("ffn_output", nn::Linear(c.intermediate, H));
    out_norm = register_module("full_layer_layer_norm", nn::LayerNorm(ln));
    drop = register_module("dropout", nn::Dropout(c.dropout));
    dropout_p = c.dropout;
  }

  at::Tensor forward(const at::Tensor& x /*(B,L,H)*/, const at::Tensor& key_mask /*(B,1,1,L)*/) {
    const auto q = split_heads(query(x), heads);  // (B, h, L, d)
    const auto k = split_heads(key(x), heads);
    const auto v = split_heads(value(x), heads);
    const auto a = merge_heads(attend(q, k, v, key_mask, is_training() ? dropout_p : 0.0));  // (B, L, H)
    const auto h = attn_norm(x + drop(dense(a)));
    return out_norm(ffn_output(activate(ffn(h), act)) + h);
  }

  int64_t heads;
  std::string act;
  double dropout_p = 0;
  nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, dense{nullptr}, ffn{nullptr}, ffn_output{nullptr};
  nn::LayerNorm attn_norm{nullptr}, out_norm{nullptr};
  nn::Dropout drop{nullptr};
};
TORCH_MODULE(AlbertLayer);

struct AlbertEncoderImpl : EncoderImpl {
  AlbertEncoderImpl(const EncoderConfig& c, int vocab_size, LatentShape latent, int pad) : EncoderImpl(c, latent, pad) {
    const int H = c.hidden, E = c.embedding_size > 0 ? c.embedding_size : c.hidden;
    word = register_at(*this, "embeddings.word_embeddings", nn::Embedding(vocab_size, E));
    position = register_at(*this, "embeddings.position_embeddings", nn::Embedding(c.max_positions, E));
    token_type = register_at(*this, "embeddings.token_type_embeddings", nn::Embedding(c.type_vocab, E));
    emb_norm = register_at(*this, "embeddings.LayerNorm", nn::LayerNorm(nn::LayerNormOptions({E}).eps(c.layer_norm_eps)));
    mapping = register_at(*this, "encoder.embedding_hidden_mapping_in", nn::Linear(E, H));
    for (int g = 0; g < c.layer_groups; ++g) {
      std::vector<AlbertLayer> group;
      for (int i = 0; i < c.inner_group_num; ++i)
        group.push_back(register_at(
            *this, "encoder.albert_layer_groups." + std::to_string(g) + ".albert_layers." + std::to_string(i), AlbertLayer(c)));
      groups.push_back(std::move(group));
    }
    pooler = register_module("pooler", nn::Linear(H, H));
    drop = register_module("dropout", nn::Dropout(c.dropout));
    {
      torch::NoGradGuard guard;
      for (auto& p : named_parameters()) {
        const auto& name = p.key();
        if (name.find("LayerNorm.weight") != std::string::npos || name.find("layer_norm.weight") != std::string::npos)
          p.value().fill_(1.0);
        else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) p.value().zero_();
        else init_normal(p.value(), kInitStd);
      }
    }
    init_latent_projection(H);
  }

  at::Tensor hidden_states(const at::Tensor& ids, const at::Tensor& mask) override {
    const auto pos = at::arange(ids.size(1), ids.options());                        // (L,)
    auto h = word(ids) + position(pos).unsqueeze(0) + token_type(at::zeros_like(ids));  // (B, L, E)
    h = mapping(noisy_embeddings(drop(emb_norm(h))));                                                  // (B, L, H)
    const auto key_mask = mask.unsqueeze(1).unsqueeze(1);                            // (B, 1, 1, L)
    const int per_group = config.layers / config.layer_groups;
    for (int i = 0; i < config.layers; ++i)
      for (auto& layer : groups[static_cast<size_t>(i / per_group)]) h = layer(h, key_mask);
    return h;
  }
  using EncoderImpl::hidden_states;

  at::Tensor pool(const at::Tensor& h, const at::Tensor& mask) override {
    return at::tanh(pooler(config.pooling == "cls" ? h.select(1, 0) : masked_mean(h, mask)));  // (B, H)
  }

  nn::Embedding word{nullptr}, position{nullptr}, token_type{nullptr};
  nn::LayerNorm emb_norm{nullptr};
  nn::Linear mapping{nullptr}, pooler{nullptr};
  std::vector<std::vector<AlbertLayer>> groups;
  nn::Dropout drop{nullptr};
};

EncoderConfig albert_from_hf(const nlohmann::json& j, const EncoderConfig& base, const std::string& path) {
  EncoderConfig c = hf_bert_shapes(j, base, path);
  c.embedding_size = hf_positive_int(j, "embedding_size", path);
  c.layer_groups = hf_positive_int(j, "num_hidden_groups", path, 1);
  c.inner_group_num = hf_positive_int(j, "inner_group_num", path, 1);
  c.type_vocab = hf_positive_int(j, "type_vocab_size", path, 2);
  const auto act = j.value("hidden_act", nlohmann::json("gelu_new"));
  if (act != "gelu_new" && act != "gelu")
    throw Error(path + ": hidden_act", "only \"gelu_new\" (tanh) and \"gelu\" (erf) are supported, got " + act.dump());
  c.activation = act.get<std::string>();
  const auto pos = j.value("position_embedding_type", nlohmann::json("absolute"));
  if (pos != "absolute") throw Error(path + ": position_embedding_type", "only \"absolute\" is supported, got " + pos.dump());
  c.layer_norm_eps = hf_positive_number(j, "layer_norm_eps", path, c.layer_norm_eps);
  if (c.layers % c.layer_groups != 0) throw Error(path + ": num_hidden_groups", "does not divide num_hidden_layers");
  return c;
}

}  // namespace

EncoderFamily albert_family() {
  EncoderFamily f;
  f.name = "albert";
  f.description = "ALBERT (factorised embeddings, layers shared by group, GELU(tanh)), avg pooling + pooler";
  f.hf_model_types = {"albert"};
  f.dmlp_classes = {{"AlbertForLatentConnector", R"({"pooling": "avg"})"}};
  f.tokenizer = "albert-spm";
  f.defaults.arch = "albert";
  f.defaults.layer_norm_eps = 1e-12;
  f.defaults.activation = "gelu_new";
  f.defaults.embedding_size = 128;
  f.defaults.type_vocab = 2;
  f.from_hf = albert_from_hf;
  f.check = [](const EncoderConfig& c, const std::string& where) {
    require(c.activation == "gelu" || c.activation == "gelu_new", where, "activation",
            "ALBERT's layers use \"gelu\" or \"gelu_new\", got \"" + c.activation + "\"");
    require(c.layers % c.layer_groups == 0, where, "layer_groups", "must divide layers");
    require(c.embedding_size <= (1 << 16) && c.inner_group_num <= 64, where, "embedding_size",
            "embedding_size at most 65536 and inner_group_num at most 64");
    check_unread_encoder_keys(c, where, "albert", {"embedding_size", "layer_groups", "inner_group_num"});
  };
  f.make = [](const EncoderConfig& c, const VocabSpec& v, LatentShape latent) -> Encoder {
    return std::make_shared<AlbertEncoderImpl>(c, v.size, latent, v.ids.pad);
  };
  f.load = [](EncoderImpl& e, io::NamedTensors t, const std::string& path, bool with_latent) {
    return load_by_name(e, std::move(t), path, {"albert."}, {"embeddings.position_ids"}, with_latent, "ALBERT tensors");
  };
  return f;
}

}  // namespace latent
