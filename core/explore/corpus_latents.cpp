#include "explore/corpus_latents.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>

#include "infer/generator.h"
#include "io/safetensors.h"
#include "util/error.h"

namespace latent {
namespace {

// 64-bit words mixed with a multiply-xorshift step (fast enough for ~100 MB of weights in
// well under a second); the tail bytes are folded in one by one.
struct Hasher {
  uint64_t h = 0x9E3779B97F4A7C15ull;
  void word(uint64_t w) {
    h ^= w;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  void bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      word(w);
    }
    for (; i < n; ++i) word(p[i] | 0x100ull);
    word(n);
  }
  void text(const std::string& s) { bytes(s.data(), s.size()); }
};

}  // namespace

at::Tensor encode_corpus(Generator& g, const std::vector<std::string>& sentences, const EncodeProgress& progress,
                         size_t chunk) {
  const int64_t d = g.model()->config.latent_dim;
  const size_t n = sentences.size();
  auto out = at::empty({static_cast<int64_t>(n), d}, at::kFloat);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sentences[a].size() < sentences[b].size(); });
  if (progress && !progress(0, n)) throw Cancelled();
  std::vector<std::string> part;
  for (size_t start = 0; start < n; start += chunk) {
    const size_t end = std::min(n, start + chunk);
    part.clear();
    for (size_t i = start; i < end; ++i) part.push_back(sentences[order[i]]);
    const auto mu = g.encode(part);
    const std::vector<int64_t> rows(order.begin() + static_cast<std::ptrdiff_t>(start), order.begin() + static_cast<std::ptrdiff_t>(end));
    out.index_copy_(0, at::tensor(rows, at::kLong), mu);
    if (progress && !progress(end, n)) throw Cancelled();
  }
  return out;
}

uint64_t encoder_fingerprint(VaeDdpm& model) {
  Hasher h;
  h.word(static_cast<uint64_t>(model->config.latent_dim));
  // What turns the same weights into other latents: the pooling (avg, cls, tokens) and the tokens.
  h.text(model->encoder->config.pooling);
  h.word(static_cast<uint64_t>(model->encoder->latent_tokens));
  auto add = [&](const std::string& name, const at::Tensor& t) {
    h.text(name);
    for (auto s : t.sizes()) h.word(static_cast<uint64_t>(s));
    const auto c = t.detach().to(at::kCPU).contiguous();
    h.text(std::string(c.dtype().name()));
    h.bytes(c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size());
  };
  for (const auto& p : model->encoder->named_parameters()) add(p.key(), p.value());
  for (const auto& b : model->encoder->named_buffers()) add(b.key(), b.value());
  return h.h;
}

uint64_t sentences_fingerprint(const std::vector<std::string>& sentences) {
  Hasher h;
  for (const auto& s : sentences) h.text(s);
  h.word(sentences.size());
  return h.h;
}

std::string corpus_cache_key(Generator& g, const std::vector<std::string>& sentences) {
  char key[40];
  std::snprintf(key, sizeof key, "%016llx-%016llx", static_cast<unsigned long long>(encoder_fingerprint(g.model())),
                static_cast<unsigned long long>(sentences_fingerprint(sentences)));
  return key;
}

at::Tensor encode_corpus_cached(Generator& g, const std::vector<std::string>& sentences, const std::string& cache_dir,
                                const EncodeProgress& progress, bool* from_cache) {
  if (from_cache) *from_cache = false;
  if (cache_dir.empty()) return encode_corpus(g, sentences, progress);
  const auto path = (std::filesystem::path(cache_dir) / ("latents-" + corpus_cache_key(g, sentences) + ".safetensors")).string();
  const int64_t n = static_cast<int64_t>(sentences.size()), d = g.model()->config.latent_dim;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    try {
      for (const auto& [key, t] : io::load(path))
        if (key == "mu" && t.dim() == 2 && t.size(0) == n && t.size(1) == d && t.scalar_type() == at::kFloat &&
            at::isfinite(t).all().item<bool>()) {
          if (from_cache) *from_cache = true;
          if (progress) progress(sentences.size(), sentences.size());
          return t;
        }
    } catch (const std::exception&) {
      // damaged or unreadable: encoded again and rewritten below
    }
  }
  auto mu = encode_corpus(g, sentences, progress);
  try {
    std::filesystem::create_directories(cache_dir, ec);
    io::save(path, {{"mu", mu}}, {{"sentences", std::to_string(n)}});
  } catch (const std::exception&) {
    // a cache that cannot be written (disk full, read-only) only costs the next open time
  }
  return mu;
}

}  // namespace latent
