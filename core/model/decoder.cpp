#include "model/decoder.h"

#include <torch/torch.h>

#include <cmath>

#include "model/attention.h"
#include "model/module_util.h"

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
    else if (name.find("c_proj.weight") != std::string::npos) p.value().normal_(0.0, kInitStd / std::sqrt(2.0 * blocks));
    else p.value().normal_(0.0, kInitStd);
  }
}
}  // namespace

GPT2BlockImpl::GPT2BlockImpl(const DecoderConfig& c) : heads(c.heads), dropout_p(c.dropout) {
  const int H = c.hidden;
  ln_1 = register_module("ln_1", nn::LayerNorm(nn::LayerNormOptions({H}).eps(kGptLnEps)));
  c_attn = register_at(*this, "attn.c_attn", nn::Linear(H, 3 * H));
  attn_proj = register_at(*this, "attn.c_proj", nn::Linear(H, H));
  ln_2 = register_module("ln_2", nn::LayerNorm(nn::LayerNormOptions({H}).eps(kGptLnEps)));
  c_fc = register_at(*this, "mlp.c_fc", nn::Linear(H, 4 * H));
  mlp_proj = register_at(*this, "mlp.c_proj", nn::Linear(4 * H, H));
  drop = register_module("dropout", nn::Dropout(c.dropout));
}

at::Tensor GPT2BlockImpl::forward(const at::Tensor& x, LayerCache& cache) {
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

DecoderImpl::DecoderImpl(const DecoderConfig& c, int vocab_size, int latent_dim) : config(c) {
  const int H = c.hidden;
  const int n = c.layers + (c.extra_first_block ? 1 : 0);
  wte = register_at(*this, "transformer.wte", nn::Embedding(vocab_size, H));
  wpe = register_at(*this, "transformer.wpe", nn::Embedding(c.max_positions, H));
  drop = register_module("dropout", nn::Dropout(c.dropout));
  for (int i = 0; i < n; ++i) blocks.push_back(register_at(*this, "transformer.h." + std::to_string(i), GPT2Block(c)));
  ln_f = register_at(*this, "transformer.ln_f", nn::LayerNorm(nn::LayerNormOptions({H}).eps(kGptLnEps)));
  if (c.latent_as_memory)
    linear = register_at(*this, "transformer.linear", nn::Linear(nn::LinearOptions(latent_dim, H * n).bias(false)));
  if (c.latent_as_embedding)
    linear_emb = register_at(*this, "transformer.linear_emb", nn::Linear(nn::LinearOptions(latent_dim, H).bias(false)));
  init_gpt2(*this, n);
}

KVCache DecoderImpl::start(const at::Tensor& z, int64_t max_tokens) {
  const int64_t B = z.size(0), H = config.hidden, h = config.heads, d = H / h;
  const int64_t capacity = max_tokens + position_offset();
  KVCache cache;
  cache.z = z;
  if (config.latent_as_embedding) cache.emb = linear_emb(z).unsqueeze(1);  // (B, 1, H)
  const auto opts = wte->weight.options().dtype(z.scalar_type());
  at::Tensor mem;
  if (config.latent_as_memory) mem = linear(z).view({B, num_blocks(), h, 1, d});  // (B, blocks, h, 1, d)
  for (int i = 0; i < num_blocks(); ++i) {
    LayerCache lc{at::empty({B, h, capacity, d}, opts), at::empty({B, h, capacity, d}, opts), 0};
    if (mem.defined()) {
      const auto slot = mem.select(1, i);  // (B, h, 1, d): the same vector is key and value
      lc.append(slot, slot);
    }
    cache.layers.push_back(std::move(lc));
  }
  return cache;
}

at::Tensor DecoderImpl::step(KVCache& cache, const at::Tensor& ids) {
  const int64_t L = ids.size(1);
  const auto pos = at::arange(position_offset() + cache.tokens, position_offset() + cache.tokens + L, ids.options());
  auto x = wte(ids) + wpe(pos).unsqueeze(0);  // (B, L, H)
  if (cache.emb.defined()) x = x + cache.emb;
  x = drop(x);
  for (int i = 0; i < num_blocks(); ++i) x = blocks[i](x, cache.layers[i]);
  cache.tokens += L;
  return at::matmul(ln_f(x), wte->weight.t());  // (B, L, V), tied head
}

at::Tensor DecoderImpl::forward(const at::Tensor& ids, const at::Tensor& z) {
  KVCache cache = start(z, ids.size(1));
  return step(cache, ids);
}

}  // namespace latent
