// Training data: sentences tokenized once, length-bucketed batches (little padding)
// in a shuffled order that is a pure function of (seed, epoch) so a resumed run sees
// the same batches, and a prefetch thread that pads the next batches while the
// current step runs.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/vae_ddpm.h"
#include "text/codec.h"

namespace latent {

using TokenSeqs = std::vector<std::vector<int>>;

// Token ids per sentence (no BOS/EOS), cut to max_length.
TokenSeqs tokenize_all(const TextCodec& tok, const std::vector<std::string>& sentences, int max_length);

// A corpus tokenized for both sides of the model: each with its own tokenizer and
// special ids (one shared tokenization when both sides share a tokenizer).
struct TokenizedCorpus {
  TokenSeqs enc, dec;          // dec is empty when shared
  SpecialIds enc_ids, dec_ids;
  bool shared = true;
  size_t size() const { return enc.size(); }
  const TokenSeqs& decoder_seqs() const { return shared ? enc : dec; }
};
// max_length: longer sequences are cut, and *cut counts the sentences cut on either side.
TokenizedCorpus tokenize_corpus(const Tokenizers& t, const std::vector<std::string>& sentences, int max_length,
                                size_t* cut = nullptr);

// Batches of indices: shuffle, sort pools of 50 batches by length, cut, shuffle the batches.
std::vector<std::vector<int64_t>> plan_epoch(const TokenSeqs& seqs, int batch_size, uint64_t seed, int64_t epoch);

// The padded tensors of one batch: `bos tokens eos` rows on each side, with its own ids.
Batch make_batch(const TokenizedCorpus& corpus, const std::vector<int64_t>& indices);

// Prepares batches plan[start..] on a background thread, up to `depth` ahead. A failure there
// (a plan naming a sentence the corpus lacks, out of memory) is not lost with the thread: the
// next() that would have returned that batch throws it as a latent::Error.
class BatchPrefetcher {
 public:
  BatchPrefetcher(const TokenizedCorpus& corpus, std::vector<std::vector<int64_t>> plan, size_t start, size_t depth = 4);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  bool has_next() const { return consumed_ < plan_.size(); }
  Batch next();  // blocks until the next batch is ready; throws what making it threw

 private:
  void run();

  const TokenizedCorpus& corpus_;
  std::vector<std::vector<int64_t>> plan_;
  size_t consumed_;
  size_t depth_;
  std::deque<Batch> ready_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool quit_ = false;
  std::string error_;  // set by the thread when making a batch failed; it then stops
  std::thread worker_;
};

}  // namespace latent
