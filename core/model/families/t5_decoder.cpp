// The T5 decoder family (Hugging Face T5ForConditionalGeneration's decoder; T5 v1.0, v1.1 and
// Flan-T5): pre-norm blocks with T5's RMS LayerNorm and no biases, unscaled attention, a
// learned unidirectional relative position bias computed in block 0 and shared by every
// block, cross-attention, a ReLU or gated-GELU feed-forward, a final norm, and a head tied to
// the token embedding (the output scaled by hidden^-0.5 first, as T5 does) or separate.
//
// The latent is its cross-attention memory, as t5-vae feeds its T5 decoder
// (transformer_vae/autoencoders.py LatentDecoderT5Norm at 5e36660): each of the n latent
// tokens (model.latent_tokens, width D/n) through "linear" (Linear(D/n, H), with a bias) and
// "latent_ff" (a T5 feed-forward layer with its norm and residual) is one memory position;
// no position bias reaches the cross-attention, so the tokens are a set. Optionally also as
// an embedding: "linear_emb" (Linear(D, H, bias=false)) added to the token embeddings (and,
// with latent_every_layer, after every block).
//
// The KV cache: layers[i] holds block i's self-attention keys/values of the tokens fed
// (from position 0: the memory is not in it), cross[i] the cross-attention keys/values of
// the latent tokens, computed once in start().
//
// Names follow Hugging Face under "decoder.": shared, decoder.block.N.layer.0.SelfAttention.
// {q,k,v,o,relative_attention_bias}, decoder.block.N.layer.{0,1,2}.layer_norm,
// decoder.block.N.layer.1.EncDecAttention.{q,k,v,o}, decoder.block.N.layer.2.DenseReluDense.
// {wi | wi_0, wi_1, wo}, decoder.final_layer_norm, lm_head (untied only); ours: linear,
// latent_ff.*, linear_emb. A T5ForConditionalGeneration folder's encoder.* tensors are not read.
// Tokenizer: T5's SentencePiece; sequences start from <pad> (decoder_start_token_id).
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <map>

#include "model/families/t5_common.h"
#include "model/family.h"
#include "model/model_io.h"
#include "model/module_util.h"
#include "model/weight_init.h"
#include "util/error.h"

namespace latent {
namespace nn = torch::nn;

namespace {

int inner_of(const DecoderConfig& c) { return c.heads * (c.head_dim > 0 ? c.head_dim : c.hidden / c.heads); }
int ff_of(const DecoderConfig& c) { return c.intermediate > 0 ? c.intermediate : 4 * c.hidden; }  // 0: T5's 4 x d_model

// T5Attention without its bias logic: q, k, v, o (no biases), optionally the relative bias table.
struct T5AttentionImpl : nn::Module {
  T5AttentionImpl(const DecoderConfig& c, bool has_bias) : heads(c.heads) {
    const int H = c.hidden, inner = inner_of(c);
    auto lin = [](int in, int out) { return nn::Linear(nn::LinearOptions(in, out).bias(false)); };
    q = register_module("q", lin(H, inner));
    k = register_module("k", lin(H, inner));
    v = register_module("v", lin(H, inner));
    o = register_module("o", lin(inner, H));
    if (has_bias) relative_attention_bias = register_module("relative_attention_bias", nn::Embedding(c.relative_buckets, c.heads));
  }
  at::Tensor split(const at::Tensor& t) const { return t.view({t.size(0), t.size(1), heads, -1}).transpose(1, 2); }  // (B, h, L, d)
  // Unscaled softmax attention of queries (B, h, L, d) over keys/values (B, h, S, d), with bias
  // (broadcast to (B, h, L, S)) or none; the softmax in fp32, as T5's. Returns (B, L, H).
  at::Tensor attend(const at::Tensor& qh, const at::Tensor& kh, const at::Tensor& vh, const at::Tensor& bias, double p) {
    auto scores = at::matmul(qh, kh.transpose(-1, -2));
    if (bias.defined()) scores = scores + bias;
    const auto w = at::dropout(scores.to(at::kFloat).softmax(-1).to(scores.scalar_type()), p, is_training());
    const auto a = at::matmul(w, vh);  // (B, h, L, d)
    return o(a.transpose(1, 2).reshape({a.size(0), a.size(2), -1}));
  }
  int64_t heads;
  nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  nn::Embedding relative_attention_bias{nullptr};
};
TORCH_MODULE(T5Attention);

struct T5DecoderBlockImpl : nn::Module {
  T5DecoderBlockImpl(const DecoderConfig& c, bool has_bias) : dropout_p(c.dropout) {
    self_attn = register_at(*this, "layer.0.SelfAttention", T5Attention(c, has_bias));
    norm0 = register_at(*this, "layer.0.layer_norm", RmsNorm(c.hidden, c.rms_norm_eps));
    cross_attn = register_at(*this, "layer.1.EncDecAttention", T5Attention(c, false));
    norm1 = register_at(*this, "layer.1.layer_norm", RmsNorm(c.hidden, c.rms_norm_eps));
    ff = register_at(*this, "layer.2", T5FeedForward(c.hidden, ff_of(c), c.activation, c.rms_norm_eps, c.dropout));
    drop = register_module("dropout", nn::Dropout(c.dropout));
  }
  // x (B, L, H) new tokens; self_bias (1, h, L, S): position bias and causal mask over the S
  // tokens the cache holds after appending these. Returns (B, L, H).
  at::Tensor forward(const at::Tensor& x, LayerCache& self, const LayerCache& cross, const at::Tensor& self_bias) {
    const double p = is_training() ? dropout_p : 0.0;
    const auto n = norm0(x);
    const auto [k, v] = self.append(self_attn->split(self_attn->k(n)), self_attn->split(self_attn->v(n)));
    auto h = x + drop(self_attn->attend(self_attn->split(self_attn->q(n)), k, v, self_bias, p));
    const auto m = norm1(h);
    h = h + drop(cross_attn->attend(cross_attn->split(cross_attn->q(m)), cross.k, cross.v, at::Tensor(), p));
    return ff(h);
  }
  double dropout_p;
  T5Attention self_attn{nullptr}, cross_attn{nullptr};
  RmsNorm norm0{nullptr}, norm1{nullptr};
  T5FeedForward ff{nullptr};
  nn::Dropout drop{nullptr};
};
TORCH_MODULE(T5DecoderBlock);

struct T5DecoderImpl : DecoderImpl {
  T5DecoderImpl(const DecoderConfig& c, int vocab_size, LatentShape latent) : DecoderImpl(c, latent) {
    const int H = c.hidden;
    shared = register_module("shared", nn::Embedding(vocab_size, H));
    for (int i = 0; i < c.layers; ++i)
      blocks.push_back(register_at(*this, "decoder.block." + std::to_string(i), T5DecoderBlock(c, i == 0)));
    final_norm = register_at(*this, "decoder.final_layer_norm", RmsNorm(H, c.rms_norm_eps));
    if (!c.tied_head) lm_head = register_module("lm_head", nn::Linear(nn::LinearOptions(H, vocab_size).bias(false)));
    linear = register_module("linear", nn::Linear(latent.width(), H));  // t5-vae's latent_to_token
    latent_ff = register_module("latent_ff", T5FeedForward(H, ff_of(c), c.activation, c.rms_norm_eps, 0.0));
    if (c.latent_as_embedding) linear_emb = register_module("linear_emb", nn::Linear(nn::LinearOptions(latent.dim, H).bias(false)));
    drop = register_module("dropout", nn::Dropout(c.dropout));
    init_t5();
  }

  // T5PreTrainedModel._init_weights with factor 1: embeddings N(0, 1); q N(0, (H d_kv)^-1/2),
  // k, v, relative bias N(0, H^-1/2), o N(0, inner^-1/2); wi N(0, H^-1/2), wo N(0, d_ff^-1/2);
  // norms 1. Ours (linear, latent_ff, linear_emb) as the layers of their shapes.
  void init_t5() {
    torch::NoGradGuard guard;
    const double H = config.hidden, inner = inner_of(config), dkv = inner / config.heads;
    auto ends = [](const std::string& s, const char* tail) {
      const std::string t(tail);
      return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
    };
    for (auto& p : named_parameters()) {
      const std::string& n = p.key();
      double std = 1.0 / std::sqrt(H);
      if (n.find("norm") != std::string::npos) { p.value().fill_(1.0); continue; }
      if (ends(n, "bias")) { p.value().zero_(); continue; }
      if (n == "shared.weight" || n == "lm_head.weight") std = 1.0;
      else if (ends(n, ".q.weight")) std = 1.0 / std::sqrt(H * dkv);
      else if (ends(n, ".o.weight")) std = 1.0 / std::sqrt(inner);
      else if (ends(n, ".wo.weight")) std = 1.0 / std::sqrt(static_cast<double>(ff_of(config)));
      else if (n == "linear.weight") std = 1.0 / std::sqrt(static_cast<double>(latent.width()));
      else if (n == "linear_emb.weight") std = 1.0 / std::sqrt(static_cast<double>(latent.dim));
      init_normal(p.value(), std);
    }
  }

  int num_blocks() const override { return static_cast<int>(blocks.size()); }

  KVCache start(const at::Tensor& z, int64_t max_tokens) override {
    const int64_t B = z.size(0), n = latent.tokens, h = config.heads, d = inner_of(config) / config.heads;
    KVCache cache = latent_cache(z, config.latent_as_embedding ? linear_emb(z).unsqueeze(1) : at::Tensor(), at::Tensor(),
                                 num_blocks(), h, d, max_tokens, shared->weight.options().dtype(z.scalar_type()));
    const auto memory = latent_ff(linear(z.reshape({B, n, -1})));  // (B, n, H)
    for (auto& b : blocks) {
      auto& a = *b->cross_attn;
      cache.cross.push_back(LayerCache{a.split(a.k(memory)), a.split(a.v(memory)), n});
    }
    return cache;
  }

  // Position bias (1, h, L, S) of queries at [first, first + L) over keys at [0, S), plus the
  // causal mask (T5's extended mask: the dtype's lowest value on later keys).
  at::Tensor self_bias(int64_t first, int64_t L, int64_t S, const at::Device& device, at::ScalarType dtype) {
    const auto opt = at::TensorOptions().dtype(at::kLong).device(device);
    const auto rel = at::arange(S, opt).unsqueeze(0) - at::arange(first, first + L, opt).unsqueeze(1);  // key - query
    const auto buckets = t5_relative_bucket(rel, /*bidirectional=*/false, config.relative_buckets, config.relative_max_distance);
    const auto bias = blocks[0]->self_attn->relative_attention_bias(buckets).permute({2, 0, 1}).unsqueeze(0);  // (1, h, L, S)
    const auto masked = rel.gt(0).to(at::kFloat).mul(std::numeric_limits<float>::lowest());
    return (bias.to(at::kFloat) + masked).to(dtype);
  }

  at::Tensor step(KVCache& cache, const at::Tensor& ids) override {
    const int64_t L = ids.size(1), first = cache.tokens;
    auto x = shared(ids);  // (B, L, H)
    if (cache.emb.defined()) x = x + cache.emb;
    x = drop(x);
    const auto bias = self_bias(first, L, first + L, ids.device(), x.scalar_type());
    const bool every_layer = config.latent_every_layer && cache.emb.defined();
    for (int i = 0; i < num_blocks(); ++i) {
      x = blocks[i](x, cache.layers[i], cache.cross[i], bias);
      if (every_layer) x = x + cache.emb;
    }
    cache.tokens += L;
    x = drop(final_norm(x));
    if (lm_head) return lm_head(x);
    return at::matmul(x * std::pow(static_cast<double>(config.hidden), -0.5), shared->weight.t());  // (B, L, V)
  }

  nn::Embedding shared{nullptr};
  std::vector<T5DecoderBlock> blocks;
  RmsNorm final_norm{nullptr};
  nn::Linear lm_head{nullptr}, linear{nullptr}, linear_emb{nullptr};
  T5FeedForward latent_ff{nullptr};
  nn::Dropout drop{nullptr};
};

DecoderConfig t5_decoder_from_hf(const nlohmann::json& j, const DecoderConfig& base, const std::string& path) {
  DecoderConfig c = base;
  c.extra_first_block = false;  // T5 has none; the latent comes through the cross-attention
  c.latent_as_memory = true;
  c.hidden = hf_positive_int(j, "d_model", path);
  c.layers = j.contains("num_decoder_layers") && !j["num_decoder_layers"].is_null() ? hf_positive_int(j, "num_decoder_layers", path)
                                                                                    : hf_positive_int(j, "num_layers", path);
  c.heads = hf_positive_int(j, "num_heads", path);
  c.head_dim = hf_positive_int(j, "d_kv", path);
  c.intermediate = hf_positive_int(j, "d_ff", path);
  c.relative_buckets = hf_positive_int(j, "relative_attention_num_buckets", path, 32);
  c.relative_max_distance = hf_positive_int(j, "relative_attention_max_distance", path, 128);
  c.rms_norm_eps = hf_positive_number(j, "layer_norm_epsilon", path, 1e-6);
  const auto ff = j.value("feed_forward_proj", nlohmann::json("relu"));
  if (ff != "relu" && ff != "gated-gelu")
    throw Error(path + ": feed_forward_proj", "only \"relu\" and \"gated-gelu\" are supported, got " + ff.dump());
  c.activation = ff.get<std::string>();
  const auto tied = j.value("tie_word_embeddings", nlohmann::json(true));  // T5Config's default
  if (!tied.is_boolean()) throw Error(path + ": tie_word_embeddings", "must be true or false");
  c.tied_head = tied.get<bool>();
  return c;
}

// Hugging Face (or our own) tensors into the decoder. A T5 checkpoint may pad its embedding
// and head (32128 rows for 32100 tokens): only the tokenizer's rows are kept (the padded
// rows are never produced by the tokenizer; their logits are dropped).
Warnings load_t5_decoder(DecoderImpl& decoder, io::NamedTensors tensors, const std::string& path, bool with_latent) {
  std::map<std::string, at::Tensor> stored;
  for (auto& [name, t] : tensors) {
    if (name.rfind("encoder.", 0) == 0 || name == "decoder.embed_tokens.weight") continue;  // the encoder; a tied copy of shared
    if (name == "lm_head.weight" && decoder.config.tied_head) continue;  // tied: shared is the head
    stored.emplace(name, t);
  }
  for (const char* name : {"shared.weight", "lm_head.weight"}) {
    const auto it = stored.find(name);
    const auto params = decoder.named_parameters();
    if (it == stored.end() || !params.contains(name)) continue;
    const int64_t rows = params[name].size(0);
    if (it->second.dim() == 2 && it->second.size(0) > rows) it->second = it->second.narrow(0, 0, rows);
  }
  io::NamedTensors targets;
  for (auto& p : decoder.named_parameters()) {
    const std::string& name = p.key();
    const bool ours = name.rfind("linear", 0) == 0 || name.rfind("latent_ff.", 0) == 0;
    if (!with_latent && ours) continue;
    targets.emplace_back(name, p.value());
  }
  copy_tensors(targets, stored, path, "T5 tensors", "the configuration");
  Warnings warnings;
  for (const auto& [name, t] : stored) warnings.push_back(path + ": ignored tensor " + name);
  return warnings;
}

}  // namespace

DecoderFamily t5_decoder_family() {
  DecoderFamily f;
  f.name = "t5";
  f.description = "T5's decoder (RMS norm, relative position bias, no biases); the latent tokens are its cross-attention "
                  "memory (t5-vae), optionally also an embedding";
  f.hf_model_types = {"t5"};
  f.tokenizer = "t5-spm";
  f.defaults.arch = "t5";
  f.defaults.extra_first_block = false;
  f.has_extra_first_block = false;
  f.defaults.latent_as_memory = true;
  f.defaults.latent_as_embedding = false;
  f.defaults.rms_norm_eps = 1e-6;
  f.defaults.tied_head = true;
  f.injections = {"memory", "embedding"};
  f.from_hf = t5_decoder_from_hf;
  f.check = [](const DecoderConfig& c, const std::string& where) {
    check_unread_decoder_keys(c, where, "t5",
                              {"intermediate", "rms_norm_eps", "tied_head", "head_dim", "relative_buckets",
                               "relative_max_distance", "activation"});
    require(!c.extra_first_block, where, "extra_first_block", "the T5 decoder has no extra first block");
    require(c.latent_as_memory, where, "latent_as_memory",
            "the T5 decoder takes the latent through its cross-attention: it needs latent_as_memory");
    require(c.relative_buckets >= 2 && c.relative_buckets <= 4096, where, "relative_buckets", "must be from 2 to 4096");
    require(c.relative_max_distance > c.relative_buckets / 2, where, "relative_max_distance",
            "must be above relative_buckets / 2 (" + std::to_string(c.relative_buckets / 2) + ")");
    require(c.head_dim <= 4096 && static_cast<int64_t>(c.heads) * (c.head_dim > 0 ? c.head_dim : c.hidden / c.heads) <= (1 << 16),
            where, "head_dim", "heads x head_dim must be at most 65536");
    require(c.head_dim > 0 || c.hidden % c.heads == 0, where, "heads", "must divide hidden when head_dim is 0");
  };
  f.make = [](const DecoderConfig& c, const VocabSpec& v, LatentShape latent) -> Decoder {
    return std::make_shared<T5DecoderImpl>(c, v.size, latent);
  };
  f.load = [](DecoderImpl& d, io::NamedTensors t, const std::string& path, bool dmlp) {
    return load_t5_decoder(d, std::move(t), path, /*with_latent=*/dmlp);
  };
  return f;
}

}  // namespace latent
