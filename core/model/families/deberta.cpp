// The DeBERTa (v1) encoder family (DMLP's DebertaForLatentConnector and ...New): BERT-like
// post-LN layers whose attention is "disentangled": content-to-content scores plus
// content-to-position (c2p) and position-to-content (p2c) scores against learned relative
// position embeddings (encoder.rel_embeddings, 2 x max_relative_positions rows, shared by
// every layer), all divided by sqrt(head_dim x (1 + number of position terms)). Queries,
// keys and values come from one bias-free in_proj whose rows are grouped per head
// (q, k, v of head 0, then of head 1, ...), with separate q_bias and v_bias. Padding is
// zeroed after the embeddings' LayerNorm and masked on both sides of the attention (a
// padded query attends nowhere), as transformers' XSoftmax does. Absolute position
// embeddings are added only with position_biased_input; no token types when type_vocab is 0.
// Parameter names: Hugging Face DebertaModel ("deberta." prefix accepted).
//
// DMLP's head is DeBERTa's ContextPooler, GELU(dense(first token)) for
// DebertaForLatentConnector (pooling "cls"); ...New runs one more DebertaLayer
// ("linear_forbert") on the frozen model's output and pools the masked mean ("avg").
// Tokenizer: RoBERTa's byte-level BPE with [CLS] text [SEP] (text/codec.h, "deberta-bpe").
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <limits>
#include <optional>

#include "model/families/bert.h"
#include "model/family.h"
#include "model/module_util.h"
#include "model/weight_init.h"
#include "util/error.h"

namespace latent {
namespace nn = torch::nn;

namespace {
constexpr double kInitStd = 0.02;  // DeBERTa's initializer_range

bool has(const std::string& types, const char* t) {
  return types == t || types == "c2p|p2c";
}

nn::LayerNorm layer_norm(const EncoderConfig& c) {
  return nn::LayerNorm(nn::LayerNormOptions({c.hidden}).eps(c.layer_norm_eps));
}

// Relative positions i - j of query i and key j, clamped into the span's 2 x span rows.
struct RelativePositions {
  at::Tensor c2p, p2c;  // (L, L) indices into the sliced rel_embeddings
  int64_t span = 0;
};

struct DebertaLayerImpl : nn::Module {
  explicit DebertaLayerImpl(const EncoderConfig& c) : heads(c.heads), types(c.relative_attention), dropout_p(c.dropout) {
    const int H = c.hidden;
    auto self_attention = register_at(*this, "attention.self", std::make_shared<nn::Module>());
    in_proj = self_attention->register_module("in_proj", nn::Linear(nn::LinearOptions(H, 3 * H).bias(false)));
    q_bias = self_attention->register_parameter("q_bias", torch::zeros({H}));
    v_bias = self_attention->register_parameter("v_bias", torch::zeros({H}));
    if (has(types, "c2p")) pos_proj = self_attention->register_module("pos_proj", nn::Linear(nn::LinearOptions(H, H).bias(false)));
    if (has(types, "p2c")) pos_q_proj = self_attention->register_module("pos_q_proj", nn::Linear(H, H));
    attn_out = register_at(*this, "attention.output.dense", nn::Linear(H, H));
    attn_norm = register_at(*this, "attention.output.LayerNorm", layer_norm(c));
    inter = register_at(*this, "intermediate.dense", nn::Linear(H, c.intermediate));
    out = register_at(*this, "output.dense", nn::Linear(c.intermediate, H));
    out_norm = register_at(*this, "output.LayerNorm", layer_norm(c));
    drop = register_module("dropout", nn::Dropout(c.dropout));
  }

  // x (B, L, H); pair_mask (B, 1, L, L) bool, true where query and key are both real;
  // rel (2 x span, H): the relative embeddings of the span (undefined without them).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pair_mask, const at::Tensor& rel, const RelativePositions& pos) {
    const int64_t B = x.size(0), L = x.size(1);
    auto split = [&](const at::Tensor& t) { return t.view({t.size(0), t.size(1), heads, -1}).permute({0, 2, 1, 3}); };
    const auto qkv = split(in_proj(x)).chunk(3, -1);  // per head: q, k, v of d each -> (B, h, L, d)
    const int64_t d = qkv[0].size(-1);
    const double scale_factor = 1 + (types == "none" ? 0 : types == "c2p|p2c" ? 2 : 1);
    const auto q = (qkv[0] + split(q_bias.view({1, 1, -1}))) / std::sqrt(static_cast<double>(d) * scale_factor);
    const auto& k = qkv[1];
    const auto v = qkv[2] + split(v_bias.view({1, 1, -1}));
    auto scores = at::matmul(q, k.transpose(-1, -2));  // (B, h, L, L)
    if (rel.defined()) {
      const auto r = rel.unsqueeze(0);  // (1, 2span, H)
      if (pos_proj) {                   // content -> position: q_i . pos_key[i - j]
        const auto c2p = at::matmul(q, split(pos_proj(r)).transpose(-1, -2));  // (B, h, L, 2span)
        scores = scores + at::gather(c2p, -1, pos.c2p.expand({B, heads, L, L}));
      }
      if (pos_q_proj) {  // position -> content: k_j . pos_query[i - j]
        const auto pq = split(pos_q_proj(r)) / std::sqrt(static_cast<double>(d) * scale_factor);
        const auto p2c = at::matmul(k, pq.transpose(-1, -2));  // (B, h, L, 2span)
        scores = scores + at::gather(p2c, -1, pos.p2c.expand({B, heads, L, L})).transpose(-1, -2);
      }
    }
    // XSoftmax: masked scores to the lowest value, softmax (in fp32), masked probabilities to 0.
    const auto masked_out = pair_mask.logical_not();
    const auto probs = scores.to(at::kFloat)
                           .masked_fill(masked_out, std::numeric_limits<float>::lowest())
                           .softmax(-1)
                           .masked_fill(masked_out, 0)
                           .to(v.scalar_type());
    const auto a = at::matmul(drop(probs), v).permute({0, 2, 1, 3}).reshape({B, L, -1});  // (B, L, H)
    const auto h = attn_norm(drop(attn_out(a)) + x);
    return out_norm(drop(out(at::gelu(inter(h)))) + h);
  }

  int64_t heads;
  std::string types;
  double dropout_p;
  nn::Linear in_proj{nullptr}, pos_proj{nullptr}, pos_q_proj{nullptr}, attn_out{nullptr}, inter{nullptr}, out{nullptr};
  at::Tensor q_bias, v_bias;
  nn::LayerNorm attn_norm{nullptr}, out_norm{nullptr};
  nn::Dropout drop{nullptr};
};
TORCH_MODULE(DebertaLayer);

struct DebertaEncoderImpl : EncoderImpl {
  DebertaEncoderImpl(const EncoderConfig& c, int vocab_size, LatentShape latent, int pad) : EncoderImpl(c, latent, pad) {
    const int H = c.hidden, E = c.embedding_size > 0 ? c.embedding_size : c.hidden;
    word = register_at(*this, "embeddings.word_embeddings", nn::Embedding(vocab_size, E));
    if (c.position_biased_input) position = register_at(*this, "embeddings.position_embeddings", nn::Embedding(c.max_positions, E));
    if (c.type_vocab > 0) token_type = register_at(*this, "embeddings.token_type_embeddings", nn::Embedding(c.type_vocab, E));
    if (E != H) embed_proj = register_at(*this, "embeddings.embed_proj", nn::Linear(nn::LinearOptions(E, H).bias(false)));
    emb_norm = register_at(*this, "embeddings.LayerNorm", layer_norm(c));
    for (int i = 0; i < c.layers; ++i)
      layers.push_back(register_at(*this, "encoder.layer." + std::to_string(i), DebertaLayer(c)));
    if (c.relative_attention != "none")
      rel_embeddings = register_at(*this, "encoder.rel_embeddings", nn::Embedding(2 * max_relative(), H));
    pooler = register_at(*this, "pooler.dense", nn::Linear(H, H));
    if (c.extra_layer) extra = register_module("linear_forbert", DebertaLayer(c));
    drop = register_module("dropout", nn::Dropout(c.dropout));
    {
      torch::NoGradGuard guard;
      for (auto& p : named_parameters()) {
        const auto& name = p.key();
        if (name.find("LayerNorm.weight") != std::string::npos) p.value().fill_(1.0);
        else if (name.find("bias") != std::string::npos) p.value().zero_();
        else init_normal(p.value(), kInitStd);
      }
    }
    init_latent_projection(H);
  }

  int64_t max_relative() const { return config.max_relative_positions > 0 ? config.max_relative_positions : config.max_positions; }

  at::Tensor hidden_states(const at::Tensor& ids, const at::Tensor& mask) override {
    const int64_t L = ids.size(1);
    const auto pair_mask = (mask.unsqueeze(1) & mask.unsqueeze(2)).unsqueeze(1);  // (B, 1, L, L)
    at::Tensor rel;
    RelativePositions pos;
    if (rel_embeddings) {
      const int64_t span = std::min(L, max_relative()), M = max_relative();
      rel = drop(rel_embeddings->weight.slice(0, M - span, M + span));              // (2span, H)
      const auto i = at::arange(L, ids.options());
      const auto r = i.unsqueeze(1) - i.unsqueeze(0);                               // (L, L): i - j
      pos = {(r + span).clamp(0, 2 * span - 1), (span - r).clamp(0, 2 * span - 1), span};
    }
    at::Tensor h;
    {
      std::optional<torch::NoGradGuard> frozen;  // DMLP's New: the pretrained part under no_grad
      if (extra) frozen.emplace();
      h = word(ids);                                                                // (B, L, E)
      if (position) h = h + position(at::arange(L, ids.options())).unsqueeze(0);
      if (token_type) h = h + token_type(at::zeros_like(ids));
      if (embed_proj) h = embed_proj(h);
      h = noisy_embeddings(drop(emb_norm(h) * mask.unsqueeze(-1).to(h.scalar_type())));  // (B, L, H)
      for (auto& layer : layers) h = layer(h, pair_mask, rel, pos);
    }
    if (extra) h = extra(h, pair_mask, rel, pos);
    return h;
  }
  using EncoderImpl::hidden_states;

  // ContextPooler: GELU(dense(.)) of the first token (cls) or of the masked mean (avg).
  at::Tensor pool(const at::Tensor& h, const at::Tensor& mask) override {
    return at::gelu(pooler(config.pooling == "cls" ? h.select(1, 0) : masked_mean(h, mask)));  // (B, H)
  }

  nn::Embedding word{nullptr}, position{nullptr}, token_type{nullptr}, rel_embeddings{nullptr};
  nn::Linear embed_proj{nullptr}, pooler{nullptr};
  nn::LayerNorm emb_norm{nullptr};
  std::vector<DebertaLayer> layers;
  DebertaLayer extra{nullptr};  // "linear_forbert" (config.extra_layer: DMLP's DebertaForLatentConnectorNew)
  nn::Dropout drop{nullptr};
};

// A Hugging Face DebertaConfig (model_type "deberta") -> the encoder's shapes.
EncoderConfig deberta_from_hf(const nlohmann::json& j, const EncoderConfig& base, const std::string& path) {
  EncoderConfig c = hf_bert_shapes(j, base, path);
  auto boolean = [&](const char* key, bool fallback) {
    if (!j.contains(key)) return fallback;
    if (!j[key].is_boolean()) throw Error(path + ": " + key, "must be true or false, got " + j[key].dump());
    return j[key].get<bool>();
  };
  auto integer = [&](const char* key, int fallback) {
    if (!j.contains(key)) return fallback;
    if (!j[key].is_number_integer() || j[key].get<int64_t>() < -1 || j[key].get<int64_t>() > (1 << 20))
      throw Error(path + ": " + key, "must be an integer from -1 to 1048576, got " + j[key].dump());
    return static_cast<int>(j[key].get<int64_t>());
  };
  c.type_vocab = integer("type_vocab_size", 0);
  if (c.type_vocab < 0) throw Error(path + ": type_vocab_size", "must not be negative");
  c.position_biased_input = boolean("position_biased_input", true);
  // pos_att_type: a list (["c2p", "p2c"]) or "c2p|p2c", as DebertaConfig accepts it.
  std::vector<std::string> types;
  if (j.contains("pos_att_type") && !j["pos_att_type"].is_null()) {
    const auto& t = j["pos_att_type"];
    if (t.is_string()) {
      std::string s = t.get<std::string>(), item;
      for (char ch : s + "|") {
        if (ch == '|') { if (!item.empty()) types.push_back(item); item.clear(); }
        else if (ch != ' ') item += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
    } else if (t.is_array()) {
      for (const auto& e : t) {
        if (!e.is_string()) throw Error(path + ": pos_att_type", "must list strings, got " + t.dump());
        types.push_back(e.get<std::string>());
      }
    } else {
      throw Error(path + ": pos_att_type", "must be a list or a \"|\"-separated string, got " + t.dump());
    }
  }
  bool c2p = false, p2c = false;
  for (const auto& t : types) {
    if (t == "c2p") c2p = true;
    else if (t == "p2c") p2c = true;
    else throw Error(path + ": pos_att_type", "DeBERTa v1 has \"c2p\" and \"p2c\", got \"" + t + "\"");
  }
  if (c2p + p2c != static_cast<int>(types.size())) throw Error(path + ": pos_att_type", "names a type twice");
  const bool relative = boolean("relative_attention", false);
  if (!relative && !types.empty())
    throw Error(path + ": pos_att_type", "is set while relative_attention is false (its scale without its terms): not supported");
  c.relative_attention = !relative ? "none" : c2p && p2c ? "c2p|p2c" : c2p ? "c2p" : p2c ? "p2c" : "";
  if (c.relative_attention.empty())
    throw Error(path + ": pos_att_type", "relative_attention without c2p or p2c is not supported (the relative embeddings would be unused)");
  const int mrp = integer("max_relative_positions", -1);
  c.max_relative_positions = mrp < 1 ? 0 : mrp;
  if (j.contains("embedding_size") && !j["embedding_size"].is_null()) {
    c.embedding_size = hf_positive_int(j, "embedding_size", path);
    if (c.embedding_size == c.hidden) c.embedding_size = 0;
  }
  if (boolean("talking_head", false)) throw Error(path + ": talking_head", "is not supported (DeBERTa's base models do not use it)");
  for (const char* key : {"hidden_act", "pooler_hidden_act"}) {
    const auto act = j.value(key, nlohmann::json("gelu"));
    if (act != "gelu") throw Error(path + ": " + key, "only \"gelu\" (erf) is supported, got " + act.dump());
  }
  if (j.contains("pooler_hidden_size") && hf_positive_int(j, "pooler_hidden_size", path) != c.hidden)
    throw Error(path + ": pooler_hidden_size", "must equal hidden_size (DMLP's pooler feeds the latent projection)");
  c.layer_norm_eps = hf_positive_number(j, "layer_norm_eps", path, 1e-7);
  return c;
}

}  // namespace

EncoderFamily deberta_family() {
  EncoderFamily f;
  f.name = "deberta";
  f.description = "DeBERTa v1 (disentangled relative attention, byte-level BPE), cls or avg pooling + GELU pooler";
  f.hf_model_types = {"deberta"};
  f.dmlp_classes = {{"DebertaForLatentConnector", R"({"pooling": "cls"})"},
                    {"DebertaForLatentConnectorNew", R"({"pooling": "avg", "extra_layer": true})"}};
  f.tokenizer = "deberta-bpe";
  f.defaults.arch = "deberta";
  f.defaults.layer_norm_eps = 1e-7;
  f.defaults.type_vocab = 0;
  f.defaults.pooling = "cls";
  f.defaults.relative_attention = "c2p|p2c";
  f.defaults.position_biased_input = false;
  f.from_hf = deberta_from_hf;
  f.check = [](const EncoderConfig& c, const std::string& where) {
    require(c.activation == "gelu", where, "activation", "DeBERTa's layers use \"gelu\", got \"" + c.activation + "\"");
    require(c.max_relative_positions <= (1 << 20) && c.embedding_size <= (1 << 16), where, "max_relative_positions",
            "max_relative_positions at most 1048576 and embedding_size at most 65536");
    require(c.hidden % c.heads == 0, where, "heads", "must divide hidden");
    check_unread_encoder_keys(c, where, "deberta",
                              {"extra_layer", "embedding_size", "relative_attention", "max_relative_positions",
                               "position_biased_input", "type_vocab"});
  };
  f.make = [](const EncoderConfig& c, const VocabSpec& v, LatentShape latent) -> Encoder {
    return std::make_shared<DebertaEncoderImpl>(c, v.size, latent, v.ids.pad);
  };
  f.load = [](EncoderImpl& e, io::NamedTensors t, const std::string& path, bool with_latent) {
    return load_by_name(e, std::move(t), path, {"deberta."}, {"embeddings.position_ids"}, with_latent, "DeBERTa tensors");
  };
  return f;
}

}  // namespace latent
