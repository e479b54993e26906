// Key/value cache of the decoder: per block, keys and values of everything seen so far,
// the latent memory slot first. Preallocated to its capacity, so a decoding step writes
// one slot per block and attends over the filled prefix (no re-run of the prefix, no
// reallocation; also what CUDA graph capture needs).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace latent {

struct LayerCache {
  at::Tensor k, v;     // (B, h, capacity, d)
  int64_t length = 0;  // filled slots (memory slot included)

  // Appends (B, h, L, d) keys/values; returns views of all filled slots.
  std::pair<at::Tensor, at::Tensor> append(const at::Tensor& k_new, const at::Tensor& v_new);
};

struct KVCache {
  std::vector<LayerCache> layers;
  at::Tensor z;            // (B, D) the latent, for latent_as_embedding
  at::Tensor emb;          // (B, 1, H) linear_emb(z), or undefined
  int64_t tokens = 0;      // real tokens fed so far (position of the next one = offset + tokens)
  int64_t batch() const { return z.size(0); }
  // Keeps only the rows in `keep` (int64 indices), e.g. to drop finished sentences.
  void select_rows(const at::Tensor& keep);
};

}  // namespace latent
