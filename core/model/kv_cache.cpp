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
  for (auto& l : layers) {
    l.k = l.k.index_select(0, keep);
    l.v = l.v.index_select(0, keep);
  }
  z = z.index_select(0, keep);
  if (emb.defined()) emb = emb.index_select(0, keep);
}

}  // namespace latent
