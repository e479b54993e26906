// The GPT-2 decoder family (DMLP's GPT2ForLatentConnector, ...New, ...New2 and the
// GPT2ModelForVAE* transformers inside them):
// pre-LayerNorm blocks, GELU(tanh) MLP of 4H, learned positions, LayerNorm eps 1e-5, LM
// head tied to the token embedding.
//
// The latent enters (each switchable):
//  - as embedding: Linear(D, H, bias=false)(z) added to every position ("linear_emb");
//  - as memory: Linear(D, H*(blocks), bias=false)(z) split into one H-vector per block,
//    used as an extra key AND value at position 0 of that block's attention ("linear").
//    With n latent tokens (model.latent_tokens), Linear(D/n, H*(blocks)) on each token: n
//    slots per block, an unordered set (no position of their own).
// With the memory slots, real tokens take position ids from 1 (GPT-2 with a past of 1).
// "New" variant: an extra first block (block 0) before the N "pretrained" blocks; "New2":
// that block's MLP is 12 x hidden wide (extra_block_mlp_ratio).
//
// Names follow Hugging Face GPT2LMHeadModel under "decoder.": transformer.wte,
// transformer.wpe, transformer.h.N.{ln_1,attn.c_attn,attn.c_proj,ln_2,mlp.c_fc,mlp.c_proj},
// transformer.ln_f, transformer.linear, transformer.linear_emb. Weights are nn::Linear
// [out, in] (HF's Conv1D stores [in, out]: the loader transposes).
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>
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
constexpr double kGptLnEps = 1e-5;
constexpr double kInitStd = 0.02;

// GPT-2's init: N(0, 0.02), residual projections scaled by 1/sqrt(2 * blocks).
void init_gpt2(nn::Module& m, int blocks) {
  torch::NoGradGuard guard;
  for (auto& p : m.named_parameters()) {
    const auto& name = p.key();
    const bool is_ln = name.find("ln_") != std::string::npos;
    if (is_ln) p.value().fill_(name.find("bias") != std::string::npos ? 0.0 : 1.0);
    else if (name.find("bias") != std::string::npos) p.value().zero_();
    else if (name.find("c_proj.weight") != std::string::npos) init_normal(p.value(), kInitStd / std::sqrt(2.0 * blocks));
    else init_normal(p.value(), kInitStd);
  }
}

struct GPT2BlockImpl : nn::Module {
  // mlp_ratio: the MLP's width / hidden (GPT-2: 4; DMLP's New2 extra block: 12).
  GPT2BlockImpl(const DecoderConfig& c, int mlp_ratio) : heads(c.heads), dropout_p(c.dropout) {
    const int H = c.hidden;
    ln_1 = register_module("ln_1", nn::LayerNorm(nn::LayerNormOptions({H}).eps(kGptLnEps)));
    c_attn = register_at(*this, "attn.c_attn", nn::Linear(H, 3 * H));
    attn_proj = register_at(*this, "attn.c_proj", nn::Linear(H, H));
    ln_2 = register_module("ln_2", nn::LayerNorm(nn::LayerNormOptions({H}).eps(kGptLnEps)));
    c_fc = register_at(*this, "mlp.c_fc", nn::Linear(H, mlp_ratio * H));
    mlp_proj = register_at(*this, "mlp.c_proj", nn::Linear(mlp_ratio * H, H));
    drop = register_module("dropout", nn::Dropout(c.dropout));
  }

  // x (B, L, H) new tokens; cache holds earlier keys/values (memory slot first) and
  // receives this call's. Returns (B, L, H).
  at::Tensor forward(const at::Tensor& x, LayerCache& cache) {
    const int64_t L = x.size(1);
    const auto qkv = c_attn(ln_1(x)).chunk(3, -1);
    const auto q = split_heads(qkv[0], heads);  // (B, h, L, d)
    const auto [k, v] = cache.append(split_heads(qkv[1], heads), split_heads(qkv[2], heads));  // (B, h, S, d)
    const int64_t S = k.size(2);
    // One new token sees every cached key; a chunk needs the lower-right causal mask.
    const at::Tensor mask = L == 1 ? at::Tensor() : causal_mask(L, S, x.device());
    const auto a = merge_heads(attend(q, k, v, mask, is_training() ? dropout_p : 0.0));  // (B, L, H)
    const auto h = x + drop(attn_proj(a));
    return h + drop(mlp_proj(at::gelu(c_fc(ln_2(h)), "tanh")));
  }

  int64_t heads;
  double dropout_p;
  nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  nn::Linear c_attn{nullptr}, attn_proj{nullptr}, c_fc{nullptr}, mlp_proj{nullptr};
  nn::Dropout drop{nullptr};
};
TORCH_MODULE(GPT2Block);

struct Gpt2DecoderImpl : DecoderImpl {
  Gpt2DecoderImpl(const DecoderConfig& c, int vocab_size, LatentShape latent) : DecoderImpl(c, latent) {
    const int H = c.hidden;
    const int n = c.layers + (c.extra_first_block ? 1 : 0);
    wte = register_at(*this, "transformer.wte", nn::Embedding(vocab_size, H));
    wpe = register_at(*this, "transformer.wpe", nn::Embedding(c.max_positions, H));
    drop = register_module("dropout", nn::Dropout(c.dropout));
    for (int i = 0; i < n; ++i) {
      const int ratio = i == 0 && c.extra_first_block ? c.extra_block_mlp_ratio : 4;
      blocks.push_back(register_at(*this, "transformer.h." + std::to_string(i), GPT2Block(c, ratio)));
    }
    ln_f = register_at(*this, "transformer.ln_f", nn::LayerNorm(nn::LayerNormOptions({H}).eps(kGptLnEps)));
    if (c.latent_as_memory)
      linear = register_at(*this, "transformer.linear", nn::Linear(nn::LinearOptions(latent.width(), H * n).bias(false)));
    if (c.latent_as_embedding)
      linear_emb = register_at(*this, "transformer.linear_emb", nn::Linear(nn::LinearOptions(latent.dim, H).bias(false)));
    init_gpt2(*this, n);
  }

  int num_blocks() const override { return static_cast<int>(blocks.size()); }
  // Position id of the first real token: 1 with the memory slot, else 0.
  int64_t position_offset() const { return config.latent_as_memory ? 1 : 0; }

  KVCache start(const at::Tensor& z, int64_t max_tokens) override {
    const int64_t h = config.heads, d = config.hidden / h;
    const at::Tensor emb = config.latent_as_embedding ? linear_emb(z).unsqueeze(1) : at::Tensor();  // (B, 1, H)
    const at::Tensor mem = config.latent_as_memory ? latent_memory(z, linear->weight, latent.tokens, num_blocks(), h, d) : at::Tensor();
    return latent_cache(z, emb, mem, num_blocks(), h, d, max_tokens + memory_slots(),
                        wte->weight.options().dtype(z.scalar_type()));
  }

  at::Tensor step(KVCache& cache, const at::Tensor& ids) override {
    const int64_t L = ids.size(1);
    const auto pos = at::arange(position_offset() + cache.tokens, position_offset() + cache.tokens + L, ids.options());
    auto x = wte(ids) + wpe(pos).unsqueeze(0);  // (B, L, H)
    if (cache.emb.defined()) x = x + cache.emb;
    x = drop(x);
    const bool every_layer = config.latent_every_layer && cache.emb.defined();  // DAVAE
    for (int i = 0; i < num_blocks(); ++i) {
      x = blocks[i](x, cache.layers[i]);
      if (every_layer) x = x + cache.emb;
    }
    cache.tokens += L;
    return at::matmul(ln_f(x), wte->weight.t());  // (B, L, V), tied head
  }

  nn::Embedding wte{nullptr}, wpe{nullptr};
  std::vector<GPT2Block> blocks;
  nn::LayerNorm ln_f{nullptr};
  nn::Linear linear{nullptr}, linear_emb{nullptr};  // latent as memory / as embedding
  nn::Dropout drop{nullptr};
};

DecoderConfig gpt2_from_hf(const nlohmann::json& j, const DecoderConfig& base, const std::string& path) {
  DecoderConfig c = base;
  c.hidden = hf_positive_int(j, "n_embd", path);
  c.layers = hf_positive_int(j, "n_layer", path);
  c.heads = hf_positive_int(j, "n_head", path);
  c.max_positions = j.contains("n_positions") ? hf_positive_int(j, "n_positions", path) : hf_positive_int(j, "n_ctx", path);
  const auto act = j.value("activation_function", nlohmann::json("gelu_new"));
  if (act != "gelu_new" && act != "gelu_pytorch_tanh")
    throw Error(path + ": activation_function", "only GPT-2's tanh GELU (gelu_new) is supported, got " + act.dump());
  const auto eps = j.value("layer_norm_epsilon", nlohmann::json(1e-5));
  if (!eps.is_number() || std::abs(eps.get<double>() - 1e-5) > 1e-12)
    throw Error(path + ": layer_norm_epsilon", "only 1e-5 (GPT-2's) is supported, got " + eps.dump());
  if (j.contains("tie_word_embeddings") && j["tie_word_embeddings"] != true)
    throw Error(path + ": tie_word_embeddings", "the decoder's head is tied");
  if (c.hidden % c.heads != 0) throw Error(path + ": n_head", "does not divide n_embd");
  return c;
}

// GPT-2 tensors into the decoder. shift: added to HF block indices (1 puts them behind
// DMLP's extra first block, which then keeps its initialisation); with_latent: the
// latent projections too (DMLP's own state), else they keep theirs.
Warnings load_gpt2(DecoderImpl& decoder, io::NamedTensors tensors, const std::string& path, int shift, bool with_latent) {
  // "h.3.attn.c_attn.weight" -> "transformer.h.4.attn.c_attn.weight"
  auto ours = [&](std::string name) {
    if (name.rfind("transformer.", 0) == 0) name = name.substr(12);
    if (name.rfind("h.", 0) == 0) {
      const size_t dot = name.find('.', 2);
      const std::string index = name.substr(2, dot == std::string::npos ? std::string::npos : dot - 2);
      if (dot == std::string::npos || index.empty() || index.size() > 6 || index.find_first_not_of("0123456789") != std::string::npos)
        throw Error(path, "tensor \"" + name + "\" has no block index");
      name = "h." + std::to_string(std::stoi(index) + shift) + name.substr(dot);
    }
    return "transformer." + name;
  };
  std::map<std::string, at::Tensor> stored;
  Warnings warnings;
  for (auto& [name, t] : tensors) {
    if (name == "lm_head.weight" || name.find(".attn.bias") != std::string::npos ||
        name.find(".attn.masked_bias") != std::string::npos)
      continue;  // tied head, causal-mask buffers
    if (name == "lm_head.bias") {  // DMLP's head has a bias, zero unless trained; ours has none
      const double m = t.numel() ? t.abs().max().item<double>() : 0.0;
      if (m > 0) warnings.push_back(path + ": lm_head.bias is not zero (max |b| = " + std::to_string(m) +
                                    "); this decoder has no head bias, so its logits differ by it");
      continue;
    }
    const bool conv1d = t.dim() == 2 && (name.find("attn.c_attn.weight") != std::string::npos ||
                                         name.find("attn.c_proj.weight") != std::string::npos ||
                                         name.find("mlp.c_fc.weight") != std::string::npos ||
                                         name.find("mlp.c_proj.weight") != std::string::npos);
    stored.emplace(ours(name), conv1d ? t.t() : t);  // Conv1D stores (in, out)
  }
  io::NamedTensors targets;
  for (auto& p : decoder.named_parameters()) {
    const std::string& name = p.key();
    if (!with_latent && name.rfind("transformer.linear", 0) == 0) continue;
    if (shift > 0 && name.rfind("transformer.h.0.", 0) == 0) continue;
    at::Tensor dst = p.value();
    const auto it = stored.find(name);
    if (name == "transformer.wte.weight" && it != stored.end() && it->second.dim() == 2 &&
        it->second.size(0) <= dst.size(0) && it->second.size(1) == dst.size(1))
      dst = dst.narrow(0, 0, it->second.size(0));  // added tokens keep their fresh rows
    targets.emplace_back(name, dst);
  }
  copy_tensors(targets, stored, path, "GPT-2 tensors", "the configuration");
  for (const auto& [name, t] : stored) warnings.push_back(path + ": ignored tensor " + name);
  return warnings;
}

}  // namespace

DecoderFamily gpt2_family() {
  DecoderFamily f;
  f.name = "gpt2";
  f.description = "GPT-2 (pre-LN, tied head), latent as memory slot and/or embedding, optional extra first block";
  f.hf_model_types = {"gpt2"};
  // GPT2ModelForVAE* are the transformers inside GPT2ForLatentConnector*: the same weights
  // without the "transformer." prefix (which the loader accepts), the head tied to wte.
  f.dmlp_classes = {{"GPT2ForLatentConnector", R"({"extra_first_block": false})"},
                    {"GPT2ForLatentConnectorNew", R"({"extra_first_block": true, "extra_block_mlp_ratio": 4})"},
                    {"GPT2ForLatentConnectorNew2", R"({"extra_first_block": true, "extra_block_mlp_ratio": 12})"},
                    {"GPT2ModelForVAE", R"({"extra_first_block": false})"},
                    {"GPT2ModelForVAENew", R"({"extra_first_block": true, "extra_block_mlp_ratio": 4})"},
                    {"GPT2ModelForVAENew2", R"({"extra_first_block": true, "extra_block_mlp_ratio": 12})"}};
  f.tokenizer = "gpt2-bpe";
  f.defaults.arch = "gpt2";
  f.injections = {"memory", "embedding"};
  f.from_hf = gpt2_from_hf;
  f.check = [](const DecoderConfig& c, const std::string& where) {
    require(c.extra_block_mlp_ratio <= 64, where, "extra_block_mlp_ratio", "must be at most 64");
    check_unread_decoder_keys(c, where, "gpt2", {"extra_block_mlp_ratio"});
  };
  f.make = [](const DecoderConfig& c, const VocabSpec& v, LatentShape latent) -> Decoder {
    return std::make_shared<Gpt2DecoderImpl>(c, v.size, latent);
  };
  f.load = [](DecoderImpl& d, io::NamedTensors t, const std::string& path, bool dmlp) {
    const int shift = !dmlp && d.config.extra_first_block ? 1 : 0;
    return load_gpt2(d, std::move(t), path, shift, /*with_latent=*/dmlp);
  };
  return f;
}

}  // namespace latent
