#include "model/kv_cache.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace latent {

std::pair<at::Tensor, at::Tensor> LayerCache::append(const at::Tensor& k_new, const at::Tensor& v_new) {
  const int64_t L = k_new.size(2);
  TORCH_CHECK(length + L <= k.size(2), "KV cache full: capacity ", k.size(2), ", need ", length + L);
  k.narrow(2, length, L).copy_(k_new);
  v.narrow(2, length, L).copy_(v_new);
  length += L;
  return {k.narrow(2, 0, length), v.narrow(2, 0, length)};
}

void KVCache::select_rows(const at::Tensor& keep) {
  for (auto* list : {&layers, &cross})
    for (auto& l : *list) {
      l.k = l.k.index_select(0, keep);
      l.v = l.v.index_select(0, keep);
    }
  z = z.index_select(0, keep);
  if (emb.defined()) emb = emb.index_select(0, keep);
}

KVCache latent_cache(const at::Tensor& z, const at::Tensor& emb, const at::Tensor& memory, int blocks, int64_t heads,
                     int64_t head_dim, int64_t capacity, const at::TensorOptions& options, int first) {
  const int64_t B = z.size(0);
  KVCache cache;
  cache.z = z;
  cache.emb = emb;
  for (int i = 0; i < blocks; ++i) {
    LayerCache lc{at::empty({B, heads, capacity, head_dim}, options), at::empty({B, heads, capacity, head_dim}, options), 0};
    if (memory.defined() && i >= first) {
      const auto slot = memory.select(1, i - first);  // (B, heads, n, d): the same vectors are keys and values
      lc.append(slot, slot);
    }
    cache.layers.push_back(std::move(lc));
  }
  return cache;
}

at::Tensor latent_memory(const at::Tensor& z, const at::Tensor& weight, int64_t tokens, int64_t blocks, int64_t heads,
                         int64_t head_dim) {
  const int64_t B = z.size(0);
  const auto m = at::linear(z.reshape({B, tokens, z.size(1) / tokens}), weight);  // (B, n, blocks x heads x d)
  return m.view({B, tokens, blocks, heads, head_dim}).permute({0, 2, 3, 1, 4});  // (B, blocks, heads, n, d)
}

}  // namespace latent
