#include "train/data.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <random>

#include "infer/generator.h"

namespace latent {

TokenSeqs tokenize_all(const Tokenizer& tok, const std::vector<std::string>& sentences, int max_length) {
  TokenSeqs out;
  out.reserve(sentences.size());
  for (const auto& s : sentences) {
    auto ids = tok.encode(s);
    if (static_cast<int>(ids.size()) > max_length) ids.resize(static_cast<size_t>(max_length));
    out.push_back(std::move(ids));
  }
  return out;
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

Batch make_batch(const TokenSeqs& seqs, const std::vector<int64_t>& indices) {
  TokenSeqs rows;
  rows.reserve(indices.size());
  for (int64_t i : indices) rows.push_back(seqs[static_cast<size_t>(i)]);
  const auto ids = pad_sequences(rows, /*add_bos_eos=*/true);
  return {ids, ids};
}

BatchPrefetcher::BatchPrefetcher(const TokenSeqs& seqs, std::vector<std::vector<int64_t>> plan, size_t start, size_t depth)
    : seqs_(seqs), plan_(std::move(plan)), consumed_(start), depth_(depth) {
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
    Batch b = make_batch(seqs_, plan_[next]);
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
  cv_.wait(lock, [&] { return !ready_.empty(); });
  Batch b = std::move(ready_.front());
  ready_.pop_front();
  ++consumed_;
  cv_.notify_all();
  return b;
}

}  // namespace latent
