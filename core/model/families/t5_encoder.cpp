// The T5 encoder family (DMLP's T5EncoderForLatentConnector): T5's encoder stack
// (pre-norm with T5's RMS LayerNorm, no biases, unscaled attention with a learned relative
// position bias computed in block 0 and shared by every block, ReLU or gated-GELU
// feed-forward, a final norm), then DMLP's head: BERT's pooler (tanh(dense)) on the
// masked mean, and "linear". Parameter names: Hugging Face T5EncoderModel ("shared",
// "encoder.block.N.layer.0.SelfAttention.q", ...; the tied "encoder.embed_tokens" copy of
// "shared" is ignored). Tokenizer: T5's SentencePiece, text then </s>, no BOS
// (text/codec.h, "t5-spm").
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "model/families/t5_common.h"
#include "model/family.h"
#include "model/module_util.h"
#include "model/rms_norm.h"
#include "model/weight_init.h"
#include "util/error.h"

namespace latent {
namespace nn = torch::nn;

namespace {

// T5LayerNorm is model/rms_norm.h's RMS norm.
using T5Norm = RmsNorm;

struct T5BlockImpl : nn::Module {
  T5BlockImpl(const EncoderConfig& c, bool has_bias) : heads(c.heads) {
    const int H = c.hidden, inner = c.heads * (c.head_dim > 0 ? c.head_dim : c.hidden / c.heads);
    auto lin = [](int in, int out) { return nn::Linear(nn::LinearOptions(in, out).bias(false)); };
    q = register_at(*this, "layer.0.SelfAttention.q", lin(H, inner));
    k = register_at(*this, "layer.0.SelfAttention.k", lin(H, inner));
    v = register_at(*this, "layer.0.SelfAttention.v", lin(H, inner));
    o = register_at(*this, "layer.0.SelfAttention.o", lin(inner, H));
    if (has_bias)
      relative_bias = register_at(*this, "layer.0.SelfAttention.relative_attention_bias", nn::Embedding(c.relative_buckets, c.heads));
    norm0 = register_at(*this, "layer.0.layer_norm", T5Norm(H, c.layer_norm_eps));
    ff = register_at(*this, "layer.1", T5FeedForward(H, c.intermediate, c.activation, c.layer_norm_eps, c.dropout));
    drop = register_module("dropout", nn::Dropout(c.dropout));
  }

  // bias (1 or B, h, L, L): relative position bias plus the padding mask.
  at::Tensor forward(const at::Tensor& x /*(B,L,H)*/, const at::Tensor& bias) {
    const int64_t B = x.size(0), L = x.size(1);
    const auto n = norm0(x);
    auto split = [&](const at::Tensor& t) { return t.view({B, L, heads, -1}).transpose(1, 2); };  // (B, h, L, d)
    const auto scores = at::matmul(split(q(n)), split(k(n)).transpose(-1, -2)) + bias;        // (B, h, L, L), unscaled
    const auto a = at::matmul(drop(scores.to(at::kFloat).softmax(-1).to(scores.scalar_type())), split(v(n)));
    return ff(x + drop(o(a.transpose(1, 2).reshape({B, L, -1}))));
  }

  int64_t heads;
  nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  nn::Embedding relative_bias{nullptr};
  T5Norm norm0{nullptr};
  T5FeedForward ff{nullptr};
  nn::Dropout drop{nullptr};
};
TORCH_MODULE(T5Block);

// Bidirectional relative-position buckets of L positions: (L, L), row = query, column = key.
at::Tensor relative_buckets(int64_t L, int num_buckets, int max_distance, const at::Device& device) {
  const auto pos = at::arange(L, at::TensorOptions().dtype(at::kLong).device(device));
  return t5_relative_bucket(pos.unsqueeze(0) - pos.unsqueeze(1), /*bidirectional=*/true, num_buckets, max_distance);
}

struct T5EncoderImpl : EncoderImpl {
  T5EncoderImpl(const EncoderConfig& c, int vocab_size, LatentShape latent, int pad) : EncoderImpl(c, latent, pad) {
    const int H = c.hidden;
    shared = register_module("shared", nn::Embedding(vocab_size, H));
    for (int i = 0; i < c.layers; ++i) blocks.push_back(register_at(*this, "encoder.block." + std::to_string(i), T5Block(c, i == 0)));
    final_norm = register_at(*this, "encoder.final_layer_norm", T5Norm(H, c.layer_norm_eps));
    pooler = register_at(*this, "pooler.dense", nn::Linear(H, H));
    drop = register_module("dropout", nn::Dropout(c.dropout));
    {
      torch::NoGradGuard guard;  // T5's init scale is 1.0 for embeddings; N(0, 0.02) elsewhere is close enough from scratch
      for (auto& p : named_parameters()) {
        const auto& name = p.key();
        if (name.find("layer_norm") != std::string::npos) p.value().fill_(1.0);
        else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0 && name.find("relative") == std::string::npos) p.value().zero_();
        else init_normal(p.value(), name.rfind("shared", 0) == 0 ? 1.0 : 0.02);
      }
    }
    init_latent_projection(H);
  }

  at::Tensor hidden_states(const at::Tensor& ids, const at::Tensor& mask) override {
    const int64_t L = ids.size(1);
    auto h = noisy_embeddings(drop(shared(ids)));                                                              // (B, L, H)
    const auto rb = blocks[0]->relative_bias(relative_buckets(L, config.relative_buckets, config.relative_max_distance, ids.device()));
    const auto position_bias = rb.permute({2, 0, 1}).unsqueeze(0).to(h.scalar_type());       // (1, h, L, L)
    const double lowest = std::numeric_limits<float>::lowest();
    const auto pad_bias = (1.0 - mask.to(h.scalar_type())).mul(lowest).unsqueeze(1).unsqueeze(1);  // (B, 1, 1, L)
    const auto bias = position_bias + pad_bias;
    for (auto& block : blocks) h = block(h, bias);
    return drop(final_norm(h));
  }
  using EncoderImpl::hidden_states;

  at::Tensor pool(const at::Tensor& h, const at::Tensor& mask) override {
    return at::tanh(pooler(config.pooling == "cls" ? h.select(1, 0) : masked_mean(h, mask)));  // (B, H)
  }

  nn::Embedding shared{nullptr};
  std::vector<T5Block> blocks;
  T5Norm final_norm{nullptr};
  nn::Linear pooler{nullptr};
  nn::Dropout drop{nullptr};
};

EncoderConfig t5_from_hf(const nlohmann::json& j, const EncoderConfig& base, const std::string& path) {
  EncoderConfig c = base;
  c.hidden = hf_positive_int(j, "d_model", path);
  c.layers = hf_positive_int(j, "num_layers", path);
  c.heads = hf_positive_int(j, "num_heads", path);
  c.head_dim = hf_positive_int(j, "d_kv", path);
  c.intermediate = hf_positive_int(j, "d_ff", path);
  c.relative_buckets = hf_positive_int(j, "relative_attention_num_buckets", path, 32);
  c.relative_max_distance = hf_positive_int(j, "relative_attention_max_distance", path, 128);
  c.max_positions = hf_positive_int(j, "n_positions", path, 512);
  const auto ff = j.value("feed_forward_proj", nlohmann::json("relu"));
  if (ff != "relu" && ff != "gated-gelu")
    throw Error(path + ": feed_forward_proj", "only \"relu\" and \"gated-gelu\" are supported, got " + ff.dump());
  c.activation = ff.get<std::string>();
  c.layer_norm_eps = hf_positive_number(j, "layer_norm_epsilon", path, 1e-6);
  return c;
}

}  // namespace

EncoderFamily t5_encoder_family() {
  EncoderFamily f;
  f.name = "t5";
  f.description = "T5's encoder (RMS norm, relative position bias, no biases), avg pooling + BERT's pooler (DMLP)";
  f.hf_model_types = {"t5"};
  f.dmlp_classes = {{"T5EncoderForLatentConnector", R"({"pooling": "avg"})"}};
  f.tokenizer = "t5-spm";
  f.defaults.arch = "t5";
  f.defaults.layer_norm_eps = 1e-6;
  f.defaults.activation = "relu";
  f.defaults.type_vocab = 1;
  f.padded_embedding = true;
  f.from_hf = t5_from_hf;
  f.check = [](const EncoderConfig& c, const std::string& where) {
    require(c.activation == "relu" || c.activation == "gated-gelu", where, "activation",
            "T5's feed-forward is \"relu\" or \"gated-gelu\", got \"" + c.activation + "\"");
    // _relative_position_bucket divides by buckets / 4 and by log(max_distance / (buckets / 4)).
    require(c.relative_buckets >= 4 && c.relative_buckets <= 4096, where, "relative_buckets", "must be from 4 to 4096");
    require(c.relative_max_distance > c.relative_buckets / 4, where, "relative_max_distance",
            "must be above relative_buckets / 4 (" + std::to_string(c.relative_buckets / 4) + ")");
    require(c.head_dim <= 4096 && static_cast<int64_t>(c.heads) * c.head_dim <= (1 << 16), where, "head_dim",
            "heads x head_dim must be at most 65536");
    check_unread_encoder_keys(c, where, "t5", {"head_dim", "relative_buckets", "relative_max_distance"});
  };
  f.make = [](const EncoderConfig& c, const VocabSpec& v, LatentShape latent) -> Encoder {
    return std::make_shared<T5EncoderImpl>(c, v.size, latent, v.ids.pad);
  };
  f.load = [](EncoderImpl& e, io::NamedTensors t, const std::string& path, bool with_latent) {
    // T5 checkpoints pad the embedding (32128 rows for 32100 tokens): rows past the
    // tokenizer's are never looked up, so only the tokenizer's rows are kept.
    const int64_t rows = e.named_parameters()["shared.weight"].size(0);
    for (auto& [name, tensor] : t)
      if (name == "shared.weight" && tensor.dim() == 2 && tensor.size(0) > rows) tensor = tensor.narrow(0, 0, rows);
    // A Hugging Face T5 has no pooler: DMLP's starts fresh (load_by_name warns).
    return load_by_name(e, std::move(t), path, {}, {"encoder.embed_tokens.weight"}, with_latent, "T5 encoder tensors");
  };
  return f;
}

}  // namespace latent
