// The DAVAE decoder family: Fengshenbang-LM's GPT2ModelForLatent
// (fengshen/models/DAVAE/GPT2ModelForLatent.py, the decoder of Randeng-DAVAE-1.2B), a
// GPT-2-like stack with Transformer-XL's relative attention (relative_encoding):
//  - no position embeddings: every block scores query i against key j as
//      ((q_i + r_w) . k_j + (q_i + r_r) . R_{i-j}) / sqrt(d),
//    R_p = relative(PE(p)) with PE the sinusoid [sin(p w), cos(p w)], w = 10000^(-2k/H);
//    r_w and r_r (heads x d) are shared by all blocks, `relative` is each block's Linear(H, H);
//  - pre-LayerNorm blocks (eps 1e-5): a fused query_key_value Linear(H, 3H), dense, and a
//    GELU(tanh) MLP of 4H;
//  - the head is the token embedding (F.linear, no bias).
// The latent enters as DAVAE's: linear_emb (Linear(D, H, bias=false)) of z added to the token
// embeddings and, with latent_every_layer (DAVAE's own setting), after every block. It has no
// memory slot: its keys carry no position of their own for one to take.
// Their sample_sequence_conditional re-runs the whole prefix each step; ours keeps keys and
// values in the cache and scores the new token against distances t - j, which is the same
// (test_davae_decoder checks logits and greedy decoding against their classes).
// Transformer-XL's segment memory (max_memory_length) is not used: DAVAE passes no mems.
//
// Names follow their state_dict under "decoder.": word_embeddings, transformer.r_w_bias,
// transformer.r_r_bias, transformer.layers.N.{input_layernorm, attention.query_key_value,
// attention.relative, attention.dense, post_attention_layernorm, mlp.dense_h_to_4h,
// mlp.dense_4h_to_h}, transformer.final_layernorm, transformer.linear_emb. Their
// transformer.position_embeddings.inv_freq buffer is recomputed, not read.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <map>

#include "model/attention.h"
#include "model/family.h"
#include "model/model_io.h"
#include "model/module_util.h"
#include "model/weight_init.h"
#include "util/error.h"

namespace latent {
namespace nn = torch::nn;

namespace {
constexpr double kLnEps = 1e-5;
constexpr double kInitStd = 0.02;

// PE(p) for distances 0 .. n-1: (n, H), sin half then cos half (their PositionalEmbedding).
at::Tensor sinusoid(int64_t n, int64_t H, const at::TensorOptions& options) {
  const auto inv_freq = 1.0 / at::pow(10000.0, at::arange(0.0, static_cast<double>(H), 2.0, options) / static_cast<double>(H));
  const auto angles = at::outer(at::arange(static_cast<double>(n), options), inv_freq);  // (n, H/2)
  return at::cat({angles.sin(), angles.cos()}, -1);
}

struct RelativeBlockImpl : nn::Module {
  explicit RelativeBlockImpl(const DecoderConfig& c) : heads(c.heads) {
    const int H = c.hidden;
    input_layernorm = register_module("input_layernorm", nn::LayerNorm(nn::LayerNormOptions({H}).eps(kLnEps)));
    qkv = register_at(*this, "attention.query_key_value", nn::Linear(H, 3 * H));
    relative = register_at(*this, "attention.relative", nn::Linear(H, H));
    dense = register_at(*this, "attention.dense", nn::Linear(H, H));
    post_attention_layernorm =
        register_module("post_attention_layernorm", nn::LayerNorm(nn::LayerNormOptions({H}).eps(kLnEps)));
    h_to_4h = register_at(*this, "mlp.dense_h_to_4h", nn::Linear(H, 4 * H));
    h4_to_h = register_at(*this, "mlp.dense_4h_to_h", nn::Linear(4 * H, H));
    drop = register_module("dropout", nn::Dropout(c.dropout));
  }

  // x (B, L, H): the tokens at positions t0 .. t0 + L - 1 (t0 tokens are in the cache);
  // pe: PE(0 .. S-1) with S = t0 + L; r_w, r_r (h, d). Returns (B, L, H).
  at::Tensor forward(const at::Tensor& x, LayerCache& cache, const at::Tensor& pe, const at::Tensor& r_w,
                     const at::Tensor& r_r) {
    const int64_t B = x.size(0), L = x.size(1);
    const auto parts = qkv(input_layernorm(x)).chunk(3, -1);
    const auto q = split_heads(parts[0], heads);  // (B, h, L, d)
    const auto [k, v] = cache.append(split_heads(parts[1], heads), split_heads(parts[2], heads));  // (B, h, S, d)
    const int64_t S = k.size(2), t0 = S - L, d = q.size(3);
    // Positional scores by distance p = 0 .. S-1, (q_i + r_r) . relative(PE(p)), then gathered
    // to (query i, key j) at distance t0 + i - j (clamped at 0 where j is in the future: those
    // are masked).
    const auto qr = q + r_r.view({1, heads, 1, d});  // (B, h, L, d)
    at::Tensor by_distance;                          // (B, h, L, S)
    if (B * L < S) {
      // Few queries (decoding): through the queries, (q W_h) . PE(p), which costs B L (H^2 + H S)
      // multiply-adds where projecting every distance costs S H^2. The bias term q . b_h is
      // left out: it is the same for every key of a query, and softmax does not see it. The
      // same attention up to rounding (test_davae_decoder decodes both ways).
      const int64_t H = pe.size(1);
      const auto u = at::matmul(qr, relative->weight.view({1, heads, d, H}));  // (B, h, L, H)
      by_distance = at::matmul(u, pe.t());
    } else {
      const auto R = split_heads(relative(pe).unsqueeze(0), heads);  // (1, h, S, d): row p = distance p
      by_distance = at::matmul(qr, R.transpose(-1, -2));
    }
    const auto opts = x.options().dtype(at::kLong);
    const auto distance = (at::arange(t0, S, opts).unsqueeze(1) - at::arange(S, opts).unsqueeze(0)).clamp_min(0);  // (L, S)
    auto bias = by_distance.gather(-1, distance.expand({B, heads, L, S})) / std::sqrt(static_cast<double>(d));
    bias = bias.masked_fill(causal_mask(L, S, x.device()).logical_not(), -std::numeric_limits<float>::infinity());
    const auto a = at::scaled_dot_product_attention(q + r_w.view({1, heads, 1, d}), k, v, bias);  // (B, h, L, d)
    const auto h = x + drop(dense(merge_heads(a)));
    return h + drop(h4_to_h(at::gelu(h_to_4h(post_attention_layernorm(h)), "tanh")));
  }

  int64_t heads;
  nn::LayerNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  nn::Linear qkv{nullptr}, relative{nullptr}, dense{nullptr}, h_to_4h{nullptr}, h4_to_h{nullptr};
  nn::Dropout drop{nullptr};
};
TORCH_MODULE(RelativeBlock);

// "transformer": the parameters that sit directly on it (the blocks register below it).
struct RelativeBiasesImpl : nn::Module {
  RelativeBiasesImpl(int64_t heads, int64_t head_dim) {
    r_w_bias = register_parameter("r_w_bias", at::zeros({heads, head_dim}));  // their init: zero
    r_r_bias = register_parameter("r_r_bias", at::zeros({heads, head_dim}));
  }
  at::Tensor r_w_bias, r_r_bias;
};
TORCH_MODULE(RelativeBiases);

struct DavaeDecoderImpl : DecoderImpl {
  DavaeDecoderImpl(const DecoderConfig& c, int vocab_size, LatentShape latent) : DecoderImpl(c, latent) {
    const int H = c.hidden;
    word_embeddings = register_module("word_embeddings", nn::Embedding(vocab_size, H));
    transformer = register_module("transformer", RelativeBiases(c.heads, H / c.heads));
    for (int i = 0; i < c.layers; ++i)
      blocks.push_back(register_at(*this, "transformer.layers." + std::to_string(i), RelativeBlock(c)));
    final_layernorm = register_at(*this, "transformer.final_layernorm", nn::LayerNorm(nn::LayerNormOptions({H}).eps(kLnEps)));
    linear_emb = register_at(*this, "transformer.linear_emb", nn::Linear(nn::LinearOptions(latent.dim, H).bias(false)));
    drop = register_module("dropout", nn::Dropout(c.dropout));
    // GPT-2's init, which their constructor arguments name (init_method N(0, 0.02), the block
    // outputs scaled by 1/sqrt(2 layers)) but never apply (their _init_weights does nothing,
    // leaving torch's defaults): zero biases and relative biases (as theirs), LayerNorms 1.
    torch::NoGradGuard guard;
    for (auto& p : named_parameters()) {
      const auto& name = p.key();
      if (name.find("layernorm") != std::string::npos) p.value().fill_(name.find("bias") != std::string::npos ? 0.0 : 1.0);
      else if (name.find("bias") != std::string::npos) p.value().zero_();
      else if (name.find("dense.weight") != std::string::npos || name.find("dense_4h_to_h.weight") != std::string::npos)
        init_normal(p.value(), kInitStd / std::sqrt(2.0 * c.layers));
      else init_normal(p.value(), kInitStd);
    }
  }

  int num_blocks() const override { return static_cast<int>(blocks.size()); }

  KVCache start(const at::Tensor& z, int64_t max_tokens) override {
    const int64_t h = config.heads, d = config.hidden / h;
    return latent_cache(z, linear_emb(z).unsqueeze(1), at::Tensor(), num_blocks(), h, d, max_tokens,
                        word_embeddings->weight.options().dtype(z.scalar_type()));
  }

  at::Tensor step(KVCache& cache, const at::Tensor& ids) override {
    const int64_t L = ids.size(1);
    auto x = drop(word_embeddings(ids) + cache.emb);  // (B, L, H)
    const auto pe = drop(sinusoid(cache.tokens + L, config.hidden, x.options()));
    const bool every_layer = config.latent_every_layer;
    for (size_t i = 0; i < blocks.size(); ++i) {
      x = blocks[i](x, cache.layers[i], pe, transformer->r_w_bias, transformer->r_r_bias);
      if (every_layer) x = x + cache.emb;
    }
    cache.tokens += L;
    return at::matmul(final_layernorm(x), word_embeddings->weight.t());  // (B, L, V), tied head
  }

  nn::Embedding word_embeddings{nullptr};
  RelativeBiases transformer{nullptr};
  std::vector<RelativeBlock> blocks;
  nn::LayerNorm final_layernorm{nullptr};
  nn::Linear linear_emb{nullptr};
  nn::Dropout drop{nullptr};
};

// The decoder section of a Randeng-DAVAE config.json (a TransfoXLConfig dict with
// GPT2ModelForLatent's keys), as tools/davae/convert_checkpoint.py writes it with model_type
// "davae-gpt2".
DecoderConfig davae_from_hf(const nlohmann::json& j, const DecoderConfig& base, const std::string& path) {
  DecoderConfig c = base;
  c.extra_first_block = false;
  c.latent_as_memory = false;
  c.latent_as_embedding = true;
  c.hidden = hf_positive_int(j, "hidden_size", path);
  c.layers = hf_positive_int(j, "num_layers", path);
  c.heads = hf_positive_int(j, "num_attention_heads", path);
  c.max_positions = hf_positive_int(j, "max_sequence_length", path);
  if (!j.contains("relative_encoding") || j["relative_encoding"] != true)
    throw Error(path + ": relative_encoding", "must be true: GPT2ModelForLatent without relative encoding adds no positions "
                                              "at all (and fails on its float position ids), so no DAVAE model uses it");
  if (c.hidden % c.heads != 0) throw Error(path + ": num_attention_heads", "does not divide hidden_size");
  if (c.hidden % 2 != 0) throw Error(path + ": hidden_size", "must be even (the sinusoid has sin and cos halves)");
  return c;
}

// Their tensors into the decoder ("decoder." / "vae_model.decoder." prefixes accepted).
// dmlp (a converted DAVAE checkpoint): everything; else (a decoder folder on its own) the
// latent projection linear_emb keeps its initialisation, as every family's does.
Warnings load_davae(DecoderImpl& decoder, io::NamedTensors tensors, const std::string& path, bool dmlp) {
  std::map<std::string, at::Tensor> stored;
  for (auto& [name, t] : tensors) {
    std::string ours = name;
    for (const std::string prefix : {"vae_model.decoder.", "decoder."})
      if (ours.rfind(prefix, 0) == 0) {
        ours = ours.substr(prefix.size());
        break;
      }
    if (ours == "transformer.position_embeddings.inv_freq") continue;  // a buffer of constants, recomputed
    if (!dmlp && ours == "transformer.linear_emb.weight") continue;
    stored.emplace(std::move(ours), std::move(t));
  }
  io::NamedTensors targets;
  for (auto& p : decoder.named_parameters())
    if (dmlp || p.key() != "transformer.linear_emb.weight") targets.emplace_back(p.key(), p.value());
  copy_tensors(targets, stored, path, "DAVAE decoder tensors", "the configuration");
  Warnings warnings;
  for (const auto& [name, t] : stored) warnings.push_back(path + ": ignored tensor " + name);
  return warnings;
}

}  // namespace

DecoderFamily davae_decoder_family() {
  DecoderFamily f;
  f.name = "davae";
  f.description = "DAVAE's decoder (Fengshenbang GPT2ModelForLatent: GPT-2 blocks with Transformer-XL relative attention, "
                  "tied head); the latent as an embedding, after every block too";
  f.hf_model_types = {"davae-gpt2"};
  f.dmlp_classes = {{"GPT2ModelForLatent", R"({"latent_every_layer": true})"}};
  f.tokenizer = "t5-spm";  // Randeng's decoder tokenizer: T5Tokenizer with <|endoftext|> and <bos>
  f.defaults.arch = "davae";
  f.defaults.extra_first_block = false;
  f.has_extra_first_block = false;
  f.defaults.latent_as_memory = false;
  f.defaults.latent_as_embedding = true;
  f.defaults.latent_every_layer = true;
  f.injections = {"embedding"};
  f.from_hf = davae_from_hf;
  f.check = [](const DecoderConfig& c, const std::string& where) {
    check_unread_decoder_keys(c, where, "davae", {});
    require(!c.extra_first_block, where, "extra_first_block", "the DAVAE decoder has no extra first block");
    require(!c.latent_as_memory, where, "latent_as_memory",
            "the DAVAE decoder has no memory slot (relative attention gives it no position): use latent_as_embedding");
    require(c.latent_as_embedding, where, "latent_as_embedding", "the DAVAE decoder takes the latent as an embedding");
    require(c.hidden % 2 == 0, where, "hidden", "must be even (the relative sinusoid has sin and cos halves)");
  };
  f.make = [](const DecoderConfig& c, const VocabSpec& v, LatentShape latent) -> Decoder {
    return std::make_shared<DavaeDecoderImpl>(c, v.size, latent);
  };
  f.load = load_davae;
  return f;
}

}  // namespace latent
