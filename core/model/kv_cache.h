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
  std::vector<LayerCache> cross;  // per block, cross-attention keys/values of the latent tokens (T5), or empty
  at::Tensor z;            // (B, D) the latent, for latent_as_embedding
  at::Tensor emb;          // (B, 1, H) linear_emb(z), or undefined
  int64_t tokens = 0;      // real tokens fed so far (position of the next one = offset + tokens)
  bool whole_sequences = false;  // set by DecoderImpl::forward: one call of whole sequences, no step after it
  int64_t batch() const { return z.size(0); }
  // Keeps only the rows in `keep` (int64 indices), e.g. to drop finished sentences.
  void select_rows(const at::Tensor& keep);
};

// What every decoder's start(z) builds: `blocks` layer caches of (B, heads, capacity, head_dim)
// in `options`; memory (B, blocks, heads, n, head_dim), when defined, fills each block's first
// n slots as both keys and values (the latent memory slots); emb: linear_emb(z) (B, 1, H) or undefined.
// first > 0 (late injection): memory holds blocks first..blocks-1 only, the blocks below start empty.
KVCache latent_cache(const at::Tensor& z, const at::Tensor& emb, const at::Tensor& memory, int blocks, int64_t heads,
                     int64_t head_dim, int64_t capacity, const at::TensorOptions& options, int first = 0);

// The memory slots of z (B, n x w) through a decoder's memory projection `weight`
// (blocks x heads x head_dim, w), applied to each of the n latent tokens:
// (B, blocks, heads, n, head_dim), as latent_cache takes them. n = 1 is DMLP's one slot.
at::Tensor latent_memory(const at::Tensor& z, const at::Tensor& weight, int64_t tokens, int64_t blocks, int64_t heads,
                         int64_t head_dim);

}  // namespace latent
