// The posterior means of a whole corpus (the latent map's points): encoded in batches of
// similar length, with progress and cancel, and cached on disk keyed by the encoder's
// weights and the sentences, so reopening a map is a file read.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/vae_ddpm.h"

namespace latent {

class Generator;

constexpr size_t kMaxMapSentences = 1000000;

// Called after each chunk with (done, total); returning false cancels (encode_corpus then
// throws Cancelled).
using EncodeProgress = std::function<bool(size_t done, size_t total)>;

struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

// mu (N, D) float32 on the CPU, in the order of sentences. Sorting by length first makes
// a padded batch hardly longer than its sentences.
at::Tensor encode_corpus(Generator& g, const std::vector<std::string>& sentences, const EncodeProgress& progress = {},
                         size_t chunk = 2048);

// A stable 64-bit fingerprint of everything mu depends on: the encoder's parameters and
// buffers (names, shapes, values) and the latent size.
uint64_t encoder_fingerprint(VaeDdpm& model);
// ... and of the sentences, in order.
uint64_t sentences_fingerprint(const std::vector<std::string>& sentences);

// "<encoder>-<sentences>" in hex: the key of everything cached for this model and corpus.
std::string corpus_cache_key(Generator& g, const std::vector<std::string>& sentences);

// encode_corpus through a cache folder: cache_dir/latents-<encoder>-<sentences>.safetensors.
// A cached file of the wrong shape or with damage is ignored and rewritten. *from_cache
// says which happened. cache_dir "" disables the cache.
at::Tensor encode_corpus_cached(Generator& g, const std::vector<std::string>& sentences, const std::string& cache_dir,
                                const EncodeProgress& progress = {}, bool* from_cache = nullptr);

}  // namespace latent
