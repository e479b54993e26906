#include "train/data.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <random>

#include "infer/generator.h"
#include "util/error.h"

namespace latent {

TokenSeqs tokenize_all(const TextCodec& tok, const std::vector<std::string>& sentences, int max_length) {
  TokenSeqs out;
  out.reserve(sentences.size());
  for (const auto& s : sentences) {
    auto ids = tok.encode(s);
    if (static_cast<int>(ids.size()) > max_length) ids.resize(static_cast<size_t>(max_length));
    out.push_back(std::move(ids));
  }
  return out;
}

TokenizedCorpus tokenize_corpus(const Tokenizers& t, const std::vector<std::string>& sentences, int max_length,
                                size_t* cut) {
  TokenizedCorpus c;
  c.shared = t.shared();
  c.enc_ids = t.encoder->specials();
  c.dec_ids = t.decoder->decoder_spec().ids;
  const int unlimited = std::numeric_limits<int>::max();
  c.enc = tokenize_all(*t.encoder, sentences, unlimited);
  if (!c.shared) c.dec = tokenize_all(*t.decoder, sentences, unlimited);
  size_t n_cut = 0;
  const size_t max_len = static_cast<size_t>(max_length);
  for (size_t i = 0; i < c.enc.size(); ++i) {
    bool was_cut = false;
    for (TokenSeqs* side : {&c.enc, &c.dec}) {
      if (side->empty() || (*side)[i].size() <= max_len) continue;
      (*side)[i].resize(max_len);
      was_cut = true;
    }
    n_cut += was_cut ? 1 : 0;
  }
  if (cut) *cut = n_cut;
  return c;
}

std::vector<std::vector<int64_t>> plan_epoch(const TokenSeqs& seqs, int batch_size, uint64_t seed, int64_t epoch) {
  constexpr size_t kPoolBatches = 50;
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) + 1);
  std::vector<int64_t> order(seqs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::shuffle(order.begin(), order.end(), rng);
  const size_t bs = static_cast<size_t>(batch_size), pool = bs * kPoolBatches;
  std::vector<std::vector<int64_t>> batches;
  for (size_t p = 0; p < order.size(); p += pool) {
    const auto first = order.begin() + static_cast<long>(p);
    const auto last = order.begin() + static_cast<long>(std::min(order.size(), p + pool));
    std::stable_sort(first, last, [&](int64_t a, int64_t b) { return seqs[a].size() < seqs[b].size(); });
    for (auto it = first; it < last; it += static_cast<long>(std::min<size_t>(bs, static_cast<size_t>(last - it))))
      batches.emplace_back(it, it + static_cast<long>(std::min<size_t>(bs, static_cast<size_t>(last - it))));
  }
  std::shuffle(batches.begin(), batches.end(), rng);
  return batches;
}

Batch make_batch(const TokenizedCorpus& corpus, const std::vector<int64_t>& indices) {
  for (int64_t i : indices)
    if (i < 0 || static_cast<size_t>(i) >= corpus.enc.size() || (!corpus.shared && static_cast<size_t>(i) >= corpus.dec.size()))
      throw Error("training batch", "names sentence " + std::to_string(i) + " of a corpus of " + std::to_string(corpus.enc.size()));
  auto padded = [&](const TokenSeqs& seqs, const SpecialIds& ids) {
    TokenSeqs rows;
    rows.reserve(indices.size());
    for (int64_t i : indices) rows.push_back(seqs[static_cast<size_t>(i)]);
    return pad_sequences(rows, ids);
  };
  const auto enc = padded(corpus.enc, corpus.enc_ids);
  return {enc, corpus.shared ? enc : padded(corpus.dec, corpus.dec_ids)};
}

BatchPrefetcher::BatchPrefetcher(const TokenizedCorpus& corpus, std::vector<std::vector<int64_t>> plan, size_t start,
                                 size_t depth)
    : corpus_(corpus), plan_(std::move(plan)), consumed_(start), depth_(depth) {
  worker_ = std::thread([this] { run(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void BatchPrefetcher::run() {
  size_t next = consumed_;
  while (next < plan_.size()) {
    Batch b;
    try {
      b = make_batch(corpus_, plan_[next]);
    } catch (const std::exception& e) {
      // An exception leaving this thread would call std::terminate: the trainer gets it instead.
      std::lock_guard<std::mutex> lock(mu_);
      error_ = "preparing batch " + std::to_string(next) + " on the prefetch thread: " + user_message(e);
      cv_.notify_all();
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return quit_ || ready_.size() < depth_; });
    if (quit_) return;
    ready_.push_back(std::move(b));
    ++next;
    cv_.notify_all();
  }
}

Batch BatchPrefetcher::next() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !ready_.empty() || !error_.empty(); });
  if (ready_.empty()) throw Error("training data", error_);
  Batch b = std::move(ready_.front());
  ready_.pop_front();
  ++consumed_;
  cv_.notify_all();
  return b;
}

}  // namespace latent
