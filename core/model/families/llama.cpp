// The Llama decoder family: SmolLM2, Llama 1-3 and Qwen2-style models (Hugging Face
// LlamaForCausalLM, Qwen2ForCausalLM). Pre-RMSNorm blocks, rotary position embeddings
// (the config's theta, linear or llama3 scaling), grouped-query attention, a SwiGLU MLP,
// a tied or separate LM head, optional q/k/v biases (Qwen2).
//
// The latent enters as DMLP's GPT-2 decoder takes it (each switchable):
//  - as embedding: Linear(D, H, bias=false)(z) added to the token embeddings ("linear_emb");
//  - as memory: Linear(D, kv_width * blocks, bias=false)(z), split into one key/value slot per
//    block at position 0, shared as key AND value by the heads of each key/value group
//    ("linear"). Rotation at position 0 is the identity, so the slot is not rotated; real
//    tokens take positions from 1. With n latent tokens (model.latent_tokens),
//    Linear(D/n, kv_width * blocks) on each token: n slots per block, all at position 0.
// With extra_first_block, block 0 is a fresh Llama block before the pretrained ones.
// With latent_from_block K > 0 (late injection), z enters at block K: memory slots in blocks
// K and up, the embedding projection added to block K's input, adapters on those blocks only.
// The blocks below then see tokens only; with none of their parameters training they run
// without autograd, and training may read their states back from model/frozen_state_cache.h.
// With lora_rank > 0, the pretrained blocks' q, k, v and o projections carry low-rank adapters
// (zero at the start), which train with the latent parts while the blocks stay frozen.
//
// With cpu_decode_weights "float16" or "gguf-blocks", decoding a few rows at a time on the CPU
// reads the linear weights and the head from fp16 copies or, where they are exactly GGUF
// blocks, from those blocks (model/decode_weights.h); fp32 weights in such calls go through
// our own few-row product (model/few_row_linear.h).
//
// Names follow Hugging Face under "decoder.": model.embed_tokens, model.layers.N.
// {input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
// mlp.{gate,up,down}_proj, self_attn.lora_{q,k,v,o}.{A,B}}, model.norm, lm_head (untied
// only), model.linear, model.linear_emb.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <optional>

#include "model/attention.h"
#include "model/decode_weights.h"
#include "model/family.h"
#include "model/frozen_state_cache.h"
#include "model/model_io.h"
#include "model/module_util.h"
#include "model/rms_norm.h"
#include "model/weight_init.h"
#include "util/error.h"

namespace latent {
namespace nn = torch::nn;

namespace {
constexpr double kInitStd = 0.02;  // LlamaConfig.initializer_range

int kv_heads_of(const DecoderConfig& c) { return c.kv_heads > 0 ? c.kv_heads : c.heads; }
int head_dim_of(const DecoderConfig& c) { return c.hidden / c.heads; }
// intermediate 0: 8/3 x hidden, rounded up to a multiple of 32 (Llama's SwiGLU rule).
int intermediate_of(const DecoderConfig& c) { return c.intermediate > 0 ? c.intermediate : (8 * c.hidden / 3 + 31) / 32 * 32; }

// Inverse frequencies (d/2,) in fp32, as transformers' rope initialisers compute them.
at::Tensor inverse_frequencies(const DecoderConfig& c) {
  const int64_t d = head_dim_of(c);
  auto inv = 1.0 / at::pow(c.rope_theta, at::arange(0, d, 2, at::kLong).to(at::kFloat) / static_cast<double>(d));
  if (c.rope_scaling == "linear") return inv / c.rope_factor;
  if (c.rope_scaling != "llama3") return inv;
  // _compute_llama3_parameters: long wavelengths slowed by factor, short ones kept, a
  // smooth blend between.
  const double old_len = c.rope_original_max_positions;
  const double low_wavelen = old_len / c.rope_low_freq_factor, high_wavelen = old_len / c.rope_high_freq_factor;
  const auto wavelen = 2 * M_PI / inv;
  auto scaled = at::where(wavelen > low_wavelen, inv / c.rope_factor, inv);
  const auto smooth = (old_len / wavelen - c.rope_low_freq_factor) / (c.rope_high_freq_factor - c.rope_low_freq_factor);
  const auto smoothed = (1 - smooth) * scaled / c.rope_factor + smooth * scaled;
  const auto medium = wavelen.ge(high_wavelen).logical_and(wavelen.le(low_wavelen));
  return at::where(medium, smoothed, scaled);
}

// x (B, h, L, d) rotated at positions pos: x cos + rotate_half(x) sin (transformers' layout:
// the two halves of each head are the pairs).
// Without autograd on the CPU in fp32 (decoding), one pass instead of five operations.
at::Tensor rotate(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t d = x.size(-1), L = x.size(-2);
  if (at::GradMode::is_enabled() || !x.device().is_cpu() || x.scalar_type() != at::kFloat ||
      cos.scalar_type() != at::kFloat || sin.scalar_type() != at::kFloat || d % 2 != 0 || cos.numel() != L * d ||
      sin.numel() != L * d) {
    const auto halves = x.chunk(2, -1);
    return x * cos + at::cat({-halves[1], halves[0]}, -1) * sin;
  }
  const at::Tensor xc = x.contiguous(), cc = cos.contiguous(), sc = sin.contiguous();
  at::Tensor y = at::empty_like(xc);
  const float *xp = xc.data_ptr<float>(), *cp = cc.data_ptr<float>(), *sp = sc.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const int64_t rows = xc.numel() / d, half = d / 2;
  for (int64_t r = 0; r < rows; ++r) {  // row r is position r % L of some head
    const float *a = xp + r * d, *c = cp + (r % L) * d, *s = sp + (r % L) * d;
    float* b = yp + r * d;
    for (int64_t j = 0; j < half; ++j) {
      b[j] = a[j] * c[j] + -a[j + half] * s[j];
      b[j + half] = a[j + half] * c[j + half] + a[j] * s[j + half];
    }
  }
  return y;
}

// A low-rank adapter beside a frozen projection: x A^T B^T, with A (r, in) ~ U(+-1/sqrt(in))
// and B (out, r) zero at the start (PEFT's LoRA initialisation, scale 1).
struct LoraImpl : nn::Module {
  LoraImpl(int in, int out, int rank) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    A = register_parameter("A", torch::empty({rank, in}).uniform_(-bound, bound));
    B = register_parameter("B", torch::zeros({out, rank}));
  }
  at::Tensor forward(const at::Tensor& x) { return at::matmul(at::matmul(x, A.t()), B.t()); }
  // y + forward(x). Decoding (fp32 on the CPU, no autograd, at most 16 rows): one pass of
  // plain loops instead of two products and a sum, each with its own dispatch.
  at::Tensor add_to(const at::Tensor& y, const at::Tensor& x) {
    const int64_t in = A.size(1), r = A.size(0), out = B.size(0);
    const int64_t rows = x.size(-1) == in ? x.numel() / in : -1;
    if (at::GradMode::is_enabled() || rows < 1 || rows > 16 || r > 16 || !x.device().is_cpu() || x.scalar_type() != at::kFloat ||
        y.scalar_type() != at::kFloat || A.scalar_type() != at::kFloat || B.scalar_type() != at::kFloat ||
        y.size(-1) != out || y.numel() != rows * out)
      return y + forward(x);
    const at::Tensor xc = x.contiguous(), yc = y.contiguous(), a = A.contiguous(), b = B.contiguous();
    at::Tensor z = at::empty_like(yc);
    const float *xp = xc.data_ptr<float>(), *yp = yc.data_ptr<float>(), *ap = a.data_ptr<float>(), *bp = b.data_ptr<float>();
    float* zp = z.data_ptr<float>();
    for (int64_t i = 0; i < rows; ++i) {
      float t[16] = {};  // x A^T, the r sums side by side
      for (int64_t j = 0; j < in; ++j) {
        const float xj = xp[i * in + j];
        for (int64_t k = 0; k < r; ++k) t[k] += xj * ap[k * in + j];
      }
      for (int64_t o = 0; o < out; ++o) {
        float s = 0;
        for (int64_t k = 0; k < r; ++k) s += t[k] * bp[o * r + k];
        zp[i * out + o] = yp[i * out + o] + s;
      }
    }
    return z;
  }
  at::Tensor A, B;
};
TORCH_MODULE(Lora);

// A pretrained projection's output from its weight's product y: its bias (in y's dtype, as
// at::linear under autocast adds it) and its adapter added.
at::Tensor finish(const at::Tensor& y, nn::Linear& linear, Lora& lora, const at::Tensor& x) {
  const auto b = linear->bias.defined() ? y + linear->bias.to(y.scalar_type()) : y;
  return lora ? lora->add_to(b, x) : b;
}

struct LlamaBlockImpl : nn::Module {
  // lora_rank > 0: adapters on q, k, v and o ("self_attn.lora_q.A" ...), for a pretrained block.
  // weights: how the decoder reads its linear weights in few-row calls (model/decode_weights.h).
  LlamaBlockImpl(const DecoderConfig& c, int lora_rank, DecodeWeights& weights)
      : heads(c.heads), kv_heads(kv_heads_of(c)), dropout_p(c.dropout), weights(weights) {
    const int H = c.hidden, kv = kv_heads * head_dim_of(c), I = intermediate_of(c);
    auto lin = [](int in, int out, bool bias) { return nn::Linear(nn::LinearOptions(in, out).bias(bias)); };
    input_layernorm = register_module("input_layernorm", RmsNorm(H, c.rms_norm_eps));
    q_proj = register_at(*this, "self_attn.q_proj", lin(H, H, c.qkv_bias));
    k_proj = register_at(*this, "self_attn.k_proj", lin(H, kv, c.qkv_bias));
    v_proj = register_at(*this, "self_attn.v_proj", lin(H, kv, c.qkv_bias));
    o_proj = register_at(*this, "self_attn.o_proj", lin(H, H, false));
    post_attention_layernorm = register_module("post_attention_layernorm", RmsNorm(H, c.rms_norm_eps));
    gate_proj = register_at(*this, "mlp.gate_proj", lin(H, I, false));
    up_proj = register_at(*this, "mlp.up_proj", lin(H, I, false));
    down_proj = register_at(*this, "mlp.down_proj", lin(I, H, false));
    drop = register_module("dropout", nn::Dropout(c.dropout));
    if (lora_rank > 0) {
      lora_q = register_at(*this, "self_attn.lora_q", Lora(H, H, lora_rank));
      lora_k = register_at(*this, "self_attn.lora_k", Lora(H, kv, lora_rank));
      lora_v = register_at(*this, "self_attn.lora_v", Lora(H, kv, lora_rank));
      lora_o = register_at(*this, "self_attn.lora_o", Lora(H, H, lora_rank));
    }
  }

  // x (B, L, H) new tokens at the positions of cos/sin (1, 1, L, d); cache: earlier
  // keys/values (memory slot first), receives this call's. Returns (B, L, H).
  at::Tensor forward(const at::Tensor& x, LayerCache& cache, const at::Tensor& cos, const at::Tensor& sin) {
    const int64_t L = x.size(1);
    const auto h = input_layernorm(x);
    const auto qkv = weights.linear_many(h, {q_proj->weight, k_proj->weight, v_proj->weight});
    const auto q = rotate(split_heads(finish(qkv[0], q_proj, lora_q, h), heads), cos, sin);  // (B, h, L, d)
    const auto k_new = rotate(split_heads(finish(qkv[1], k_proj, lora_k, h), kv_heads), cos, sin);
    auto [k, v] = cache.append(k_new, split_heads(finish(qkv[2], v_proj, lora_v, h), kv_heads));  // (B, kv, S, d)
    const double p = is_training() ? dropout_p : 0.0;
    at::Tensor a;
    if (kv_heads != heads && L == 1) {
      // One new token: the heads / kv_heads query heads of each key/value head are that many
      // queries of it (head i reads key/value head i / g, as repeat_kv), no mask needed.
      const int64_t B = q.size(0), g = heads / kv_heads, d = q.size(3);
      a = merge_heads(attend(q.reshape({B, kv_heads, g, d}), k, v, {}, p).reshape({B, heads, 1, d}));
    } else {
      if (kv_heads != heads) {  // each key/value head serves heads / kv_heads query heads (repeat_kv)
        k = k.repeat_interleave(heads / kv_heads, 1);
        v = v.repeat_interleave(heads / kv_heads, 1);
      }
      const at::Tensor mask = L == 1 ? at::Tensor() : causal_mask(L, k.size(2), x.device());
      a = merge_heads(attend(q, k, v, mask, p));  // (B, L, H)
    }
    const auto r = x + drop(finish(weights.linear(a, o_proj->weight), o_proj, lora_o, a));
    const auto m = post_attention_layernorm(r);
    const auto gu = weights.linear_many(m, {gate_proj->weight, up_proj->weight});
    const auto g = at::silu(gu[0]) * gu[1];
    return r + drop(weights.linear(g, down_proj->weight));
  }

  int64_t heads, kv_heads;
  double dropout_p;
  DecodeWeights& weights;
  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  nn::Dropout drop{nullptr};
  Lora lora_q{nullptr}, lora_k{nullptr}, lora_v{nullptr}, lora_o{nullptr};
};
TORCH_MODULE(LlamaBlock);

struct LlamaDecoderImpl : DecoderImpl {
  LlamaDecoderImpl(const DecoderConfig& c, int vocab_size, LatentShape latent) : DecoderImpl(c, latent) {
    const int H = c.hidden, n = c.layers + (c.extra_first_block ? 1 : 0);
    // Checked here, not with the other keys: an import's config meets the folder's layer count later.
    if (c.latent_from_block >= n)
      throw Error("model.decoder.latent_from_block", "must be below the number of blocks (" + std::to_string(n) + "), got " +
                                                         std::to_string(c.latent_from_block));
    embed_tokens = register_at(*this, "model.embed_tokens", nn::Embedding(vocab_size, H));
    for (int i = 0; i < n; ++i) {
      // The fresh block trains whole; below late injection's first block nothing trains.
      const int lora_rank = (c.extra_first_block && i == 0) || i < c.latent_from_block ? 0 : c.lora_rank;
      blocks.push_back(register_at(*this, "model.layers." + std::to_string(i), LlamaBlock(c, lora_rank, weights)));
    }
    norm = register_at(*this, "model.norm", RmsNorm(H, c.rms_norm_eps));
    if (!c.tied_head) lm_head = register_at(*this, "lm_head", nn::Linear(nn::LinearOptions(H, vocab_size).bias(false)));
    if (c.latent_as_memory) {
      const int kv = kv_heads_of(c) * head_dim_of(c);
      linear = register_at(*this, "model.linear", nn::Linear(nn::LinearOptions(latent.width(), kv * (n - c.latent_from_block)).bias(false)));
    }
    if (c.latent_as_embedding)
      linear_emb = register_at(*this, "model.linear_emb", nn::Linear(nn::LinearOptions(latent.dim, H).bias(false)));
    drop = register_module("dropout", nn::Dropout(c.dropout));
    torch::NoGradGuard guard;  // LlamaPreTrainedModel._init_weights: N(0, 0.02), zero biases, unit norms
    for (auto& p : named_parameters()) {
      if (p.key().find(".lora_") != std::string::npos) continue;  // LoraImpl's own initialisation
      if (p.key().find("norm.weight") != std::string::npos) p.value().fill_(1.0);
      else if (p.key().find("bias") != std::string::npos) p.value().zero_();
      else init_normal(p.value(), kInitStd);
    }
    inv_freq_ = inverse_frequencies(c);
    weights.set_mode(c.cpu_decode_weights);
  }

  int num_blocks() const override { return static_cast<int>(blocks.size()); }
  int64_t position_offset() const { return config.latent_as_memory ? 1 : 0; }

  KVCache start(const at::Tensor& z, int64_t max_tokens) override {
    const int64_t kv = kv_heads_of(config), d = head_dim_of(config);
    const at::Tensor emb = config.latent_as_embedding ? linear_emb(z).unsqueeze(1) : at::Tensor();  // (B, 1, H)
    const int first = config.latent_from_block;
    const at::Tensor mem =
        config.latent_as_memory ? latent_memory(z, linear->weight, latent.tokens, num_blocks() - first, kv, d) : at::Tensor();
    return latent_cache(z, emb, mem, num_blocks(), kv, d, max_tokens + memory_slots(),
                        embed_tokens->weight.options().dtype(z.scalar_type()), first);
  }

  // Late injection's lower blocks: none of their parameters (the token embedding's included) trains.
  bool lower_blocks_frozen() const {
    for (const auto& p : embed_tokens->parameters())
      if (p.requires_grad()) return false;
    for (int i = 0; i < config.latent_from_block; ++i)
      for (const auto& p : blocks[i]->parameters())
        if (p.requires_grad()) return false;
    return true;
  }

  // Token states after blocks 0..K-1 for ids at positions first.. (no latent: it enters at K).
  at::Tensor lower_states(const at::Tensor& ids, KVCache& cache, const at::Tensor& cos, const at::Tensor& sin) {
    auto x = drop(embed_tokens(ids));
    for (int i = 0; i < config.latent_from_block; ++i) x = blocks[i](x, cache.layers[i], cos, sin);
    return x;
  }

  at::Tensor step(KVCache& cache, const at::Tensor& ids) override {
    const int64_t L = ids.size(1), first = position_offset() + cache.tokens;
    const int K = config.latent_from_block;
    // cos/sin in fp32 as transformers' rotary embedding, then in the activations' dtype.
    const auto pos = at::arange(first, first + L, ids.options().dtype(at::kFloat));
    const auto freqs = at::outer(pos, inv_freq_.to(ids.device()));  // (L, d/2)
    const auto emb = at::cat({freqs, freqs}, -1).view({1, 1, L, -1});
    const auto dtype = embed_tokens->weight.scalar_type();
    const auto cos = emb.cos().to(dtype), sin = emb.sin().to(dtype);
    at::Tensor x;
    if (K == 0) {
      x = embed_tokens(ids);  // (B, L, H)
      if (cache.emb.defined()) x = x + cache.emb;
      x = drop(x);
    } else {  // late injection: the blocks below K see the tokens only
      const bool frozen = lower_blocks_frozen();
      std::optional<at::NoGradGuard> no_grad;
      if (frozen) no_grad.emplace();
      // Whole sequences (no step follows, so the lower blocks' keys and values are not needed).
      if (frozen && frozen_states && cache.whole_sequences && !(is_training() && config.dropout > 0)) {
        x = frozen_states->states(ids, [&](const at::Tensor& rows) {
          const int64_t l = rows.size(1);
          const auto options = embed_tokens->weight.options();
          KVCache scratch = latent_cache(at::empty({rows.size(0), 0}, options), at::Tensor(), at::Tensor(), K,
                                         kv_heads_of(config), head_dim_of(config), l, options);
          return lower_states(rows, scratch, cos.narrow(2, 0, l), sin.narrow(2, 0, l));
        });
      } else {
        x = lower_states(ids, cache, cos, sin);
      }
      no_grad.reset();
      if (cache.emb.defined()) x = x + cache.emb;
    }
    const bool every_layer = config.latent_every_layer && cache.emb.defined();  // DAVAE
    for (int i = K; i < num_blocks(); ++i) {
      x = blocks[i](x, cache.layers[i], cos, sin);
      if (every_layer) x = x + cache.emb;
    }
    cache.tokens += L;
    x = norm(x);
    return weights.linear(x, lm_head ? lm_head->weight : embed_tokens->weight);  // (B, L, V)
  }

  DecodeWeights weights;  // the blocks hold a reference to it
  nn::Embedding embed_tokens{nullptr};
  std::vector<LlamaBlock> blocks;
  RmsNorm norm{nullptr};
  nn::Linear lm_head{nullptr}, linear{nullptr}, linear_emb{nullptr};
  nn::Dropout drop{nullptr};
  at::Tensor inv_freq_;  // (d/2,) fp32, CPU; not a parameter or buffer: derived from the config
};

// Hugging Face rope_scaling: null, {"rope_type" (or "type"): "default" | "linear" | "llama3", ...}.
void rope_from_hf(const nlohmann::json& j, DecoderConfig& c, const std::string& path) {
  c.rope_theta = hf_positive_number(j, "rope_theta", path, 10000.0);
  if (!j.contains("rope_scaling") || j["rope_scaling"].is_null()) return;
  const auto& s = j["rope_scaling"];
  const std::string where = path + ": rope_scaling";
  if (!s.is_object()) throw Error(where, "must be null or an object");
  const auto type = s.contains("rope_type") ? s["rope_type"] : s.value("type", nlohmann::json("default"));
  if (type == "default") return;
  if (type != "linear" && type != "llama3")
    throw Error(where + ".rope_type", "only default, linear and llama3 scaling are supported, got " + type.dump());
  c.rope_scaling = type.get<std::string>();
  c.rope_factor = hf_positive_number(s, "factor", where, 0.0);
  if (!(c.rope_factor > 0)) throw Error(where + ".factor", "missing");
  if (c.rope_scaling == "llama3") {
    for (const char* key : {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
      if (!s.contains(key)) throw Error(where + "." + key, "missing (llama3 scaling needs it)");
    c.rope_low_freq_factor = hf_positive_number(s, "low_freq_factor", where, 0.0);
    c.rope_high_freq_factor = hf_positive_number(s, "high_freq_factor", where, 0.0);
    c.rope_original_max_positions = hf_positive_int(s, "original_max_position_embeddings", where);
  }
}

DecoderConfig llama_from_hf(const nlohmann::json& j, const DecoderConfig& base, const std::string& path) {
  DecoderConfig c = base;
  const bool qwen2 = j.value("model_type", "") == "qwen2";
  c.hidden = hf_positive_int(j, "hidden_size", path);
  c.layers = hf_positive_int(j, "num_hidden_layers", path);
  c.heads = hf_positive_int(j, "num_attention_heads", path);
  c.kv_heads = hf_positive_int(j, "num_key_value_heads", path, c.heads);
  c.intermediate = hf_positive_int(j, "intermediate_size", path);
  c.max_positions = hf_positive_int(j, "max_position_embeddings", path);
  c.rms_norm_eps = hf_positive_number(j, "rms_norm_eps", path, 1e-6);
  rope_from_hf(j, c, path);
  const auto tied = j.value("tie_word_embeddings", nlohmann::json(false));  // LlamaConfig's and Qwen2Config's default
  if (!tied.is_boolean()) throw Error(path + ": tie_word_embeddings", "must be true or false");
  c.tied_head = tied.get<bool>();
  const auto bias = j.value("attention_bias", nlohmann::json(false));
  if (!bias.is_boolean()) throw Error(path + ": attention_bias", "must be true or false");
  if (bias == true && !qwen2)  // Llama's attention_bias also puts a bias on o_proj, which this family does not hold
    throw Error(path + ": attention_bias", "only Qwen2's q/k/v biases are supported (attention_bias false)");
  c.qkv_bias = qwen2;
  if (j.value("mlp_bias", nlohmann::json(false)) != false) throw Error(path + ": mlp_bias", "MLP biases are not supported");
  const auto act = j.value("hidden_act", nlohmann::json("silu"));
  if (act != "silu") throw Error(path + ": hidden_act", "only SwiGLU with silu is supported, got " + act.dump());
  if (qwen2 && j.value("use_sliding_window", nlohmann::json(false)) != false)
    throw Error(path + ": use_sliding_window", "sliding-window attention is not supported");
  if (c.hidden % c.heads != 0) throw Error(path + ": num_attention_heads", "does not divide hidden_size");
  if (j.contains("head_dim") && !j["head_dim"].is_null() && j["head_dim"] != c.hidden / c.heads)
    throw Error(path + ": head_dim", "must be hidden_size / num_attention_heads (" + std::to_string(c.hidden / c.heads) +
                                         "), got " + j["head_dim"].dump());
  return c;
}

// Hugging Face (or DMLP-layout) tensors into the decoder. shift: added to the pretrained
// block indices (1 behind a fresh extra first block); with_latent: the latent projections too.
Warnings load_llama(DecoderImpl& decoder, io::NamedTensors tensors, const std::string& path, int shift, bool with_latent) {
  auto ours = [&](const std::string& name) {
    const std::string prefix = "model.layers.";
    if (name.rfind(prefix, 0) != 0) return name;
    const size_t dot = name.find('.', prefix.size());
    const std::string index = name.substr(prefix.size(), dot == std::string::npos ? std::string::npos : dot - prefix.size());
    if (dot == std::string::npos || index.empty() || index.size() > 6 || index.find_first_not_of("0123456789") != std::string::npos)
      throw Error(path, "tensor \"" + name + "\" has no block index");
    return prefix + std::to_string(std::stoi(index) + shift) + name.substr(dot);
  };
  const bool tied = decoder.config.tied_head;
  std::map<std::string, at::Tensor> stored;
  Warnings warnings;
  at::Tensor stored_head;
  for (auto& [name, t] : tensors) {
    if (name.find("rotary_emb.inv_freq") != std::string::npos) continue;  // older checkpoints' derived buffer
    if (tied && name == "lm_head.weight") {
      stored_head = t;
      continue;
    }
    stored.emplace(ours(name), t);
  }
  io::NamedTensors targets;
  for (auto& p : decoder.named_parameters()) {
    const std::string& name = p.key();
    if (!with_latent && name.rfind("model.linear", 0) == 0) continue;
    if (name.find(".lora_") != std::string::npos) continue;  // adapters are ours: they keep their initialisation
    if (shift > 0 && name.rfind("model.layers.0.", 0) == 0) continue;
    at::Tensor dst = p.value();
    const auto it = stored.find(name);
    if ((name == "model.embed_tokens.weight" || name == "lm_head.weight") && it != stored.end() && it->second.dim() == 2 &&
        it->second.size(0) <= dst.size(0) && it->second.size(1) == dst.size(1))
      dst = dst.narrow(0, 0, it->second.size(0));  // added tokens keep their fresh rows
    targets.emplace_back(name, dst);
  }
  copy_tensors(targets, stored, path, "Llama tensors", "the configuration");
  if (stored_head.defined()) {  // a tied model saved with its head: it must be the embedding
    const auto& emb = static_cast<const LlamaDecoderImpl&>(decoder).embed_tokens->weight;
    const bool same = stored_head.dim() == 2 && stored_head.size(0) <= emb.size(0) && stored_head.size(1) == emb.size(1) &&
                      stored_head.to(at::kFloat).equal(emb.narrow(0, 0, stored_head.size(0)).to(at::kFloat));
    if (!same) warnings.push_back(path + ": lm_head.weight differs from the token embedding, but the configuration ties them "
                                         "(tie_word_embeddings): the embedding is used");
  }
  for (const auto& [name, t] : stored) warnings.push_back(path + ": ignored tensor " + name);
  return warnings;
}

}  // namespace

DecoderFamily llama_family() {
  DecoderFamily f;
  f.name = "llama";
  f.description = "Llama / SmolLM2 / Qwen2 (RMSNorm, rotary, grouped-query attention, SwiGLU), latent as memory slot "
                  "and/or embedding, optional extra first block";
  f.hf_model_types = {"llama", "qwen2"};
  f.tokenizer = "llama-bpe";
  f.defaults.arch = "llama";
  f.defaults.extra_first_block = false;
  f.injections = {"memory", "embedding"};
  f.from_hf = llama_from_hf;
  f.check = [](const DecoderConfig& c, const std::string& where) {
    check_unread_decoder_keys(c, where, "llama",
                              {"intermediate", "kv_heads", "rms_norm_eps", "rope_theta", "rope_scaling", "rope_factor",
                               "rope_low_freq_factor", "rope_high_freq_factor", "rope_original_max_positions",
                               "tied_head", "qkv_bias", "lora_rank", "latent_from_block", "cpu_decode_weights"});
    const int kv = kv_heads_of(c);
    require(kv <= c.heads && c.heads % kv == 0, where, "kv_heads", "must divide heads (" + std::to_string(c.heads) + ")");
    require(c.hidden % c.heads == 0 && (c.hidden / c.heads) % 2 == 0, where, "heads",
            "hidden / heads must be an even head width (rotary pairs)");
    require(c.rope_scaling != "llama3" || c.rope_high_freq_factor > c.rope_low_freq_factor, where, "rope_high_freq_factor",
            "must be above rope_low_freq_factor");
    require(c.latent_from_block == 0 || !c.extra_first_block, where, "latent_from_block",
            "late injection needs extra_first_block false (the fresh block would sit below the latent)");
  };
  f.make = [](const DecoderConfig& c, const VocabSpec& v, LatentShape latent) -> Decoder {
    return std::make_shared<LlamaDecoderImpl>(c, v.size, latent);
  };
  f.load = [](DecoderImpl& d, io::NamedTensors t, const std::string& path, bool dmlp) {
    const int shift = !dmlp && d.config.extra_first_block ? 1 : 0;
    return load_llama(d, std::move(t), path, shift, /*with_latent=*/dmlp);
  };
  return f;
}

}  // namespace latent
