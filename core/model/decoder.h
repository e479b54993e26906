// What every decoder family is to the rest of the model: start(z) fills a key/value cache
// with the latent (as memory slots, an embedding, ... as the family supports), step feeds
// tokens after what the cache holds and returns their logits. Training runs the same path
// over whole sequences (forward). The families and how they are found: model/family.h.
#pragma once

#include <torch/nn/module.h>

#include <memory>

#include "model/config.h"
#include "model/kv_cache.h"

namespace latent {

class FrozenStateCache;

struct DecoderImpl : torch::nn::Module {
  // latent: z's width D and its n tokens (model.latent_tokens): the memory projection maps one
  // token (D/n) to a slot per block, the embedding projection the whole of z (D).
  DecoderImpl(const DecoderConfig& c, LatentShape latent) : config(c), latent(latent) {}
  ~DecoderImpl() override = default;

  // A cache for decoding up to max_tokens tokens from z (B, D): latent slots filled (n per
  // block with latent_as_memory: an unordered set, all at position 0; tokens from position 1).
  virtual KVCache start(const at::Tensor& z, int64_t max_tokens) = 0;
  // Feeds new tokens ids (B, L) after what the cache holds; returns logits (B, L, V).
  virtual at::Tensor step(KVCache& cache, const at::Tensor& ids) = 0;
  // Teacher-forced logits for whole sequences (training): ids (B, L), z (B, D) -> (B, L, V).
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& z) {
    KVCache cache = start(z, ids.size(1));
    cache.whole_sequences = true;
    return step(cache, ids);
  }
  // Transformer blocks, an extra first block included.
  virtual int num_blocks() const = 0;

  // Memory slots per block: n with latent_as_memory, else 0.
  int memory_slots() const { return config.latent_as_memory ? latent.tokens : 0; }

  DecoderConfig config;
  LatentShape latent;
  // Set by training with late injection (config.latent_from_block > 0): the frozen lower
  // blocks' token states per sentence (model/frozen_state_cache.h), used by the families that
  // have late injection (Llama) when a call starts from an empty cache. Null: not kept.
  std::shared_ptr<FrozenStateCache> frozen_states;
};
using Decoder = std::shared_ptr<DecoderImpl>;

}  // namespace latent
