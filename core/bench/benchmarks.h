// Benchmarks of the jobs the studio runs, on random weights of a given configuration
// (the shapes matter, not the values), for `latent-cli bench` and bench/compare.py,
// which runs DMLP's Python classes on the same shapes. Warm-up runs are excluded;
// every job reports the median and spread of its repetitions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace latent::bench {

struct Stats {
  double median = 0, min = 0, max = 0, p95 = 0;
  int n = 0;
};
Stats summarize(std::vector<double> values);

struct Common {
  Config config;
  std::string device = "cpu";  // cpu | cuda
  int reps = 5;
  int warmup = 2;
  uint64_t seed = 0;
};

// One full training step (joint loss forward, backward, clipping, Adam) on random
// token ids (batch, length) for encoder and decoder, as the trainer runs it.
struct TrainResult {
  Stats step_ms, sentences_per_sec;
  int64_t params = 0;
};
TrainResult train_step(const Common& c, int batch, int length);

// Encode n random sentences of `length` tokens and decode exactly max_tokens tokens
// each (no stop at EOS) greedily from mu, in batches: with the KV cache, or re-running
// the whole prefix every token as DMLP does (uncached).
struct ReconstructResult {
  Stats seconds, sentences_per_sec;
};
ReconstructResult reconstruct(const Common& c, int n, int length, int max_tokens, int batch, bool uncached);

// Full ancestral sampling of n latents with the configured noise network and T steps.
Stats sample(const Common& c, int n);

// Latency of the interactive paths on a real model folder: one sentence reconstructed
// (text in, text out), a 10-point interpolation between two sentences, and one move of the
// Directions view's slider (encode, add alpha x a direction, decode: the worker's
// applyDirection).
struct LatencyResult {
  Stats reconstruct_ms, interpolate10_ms, direction_ms;
};
LatencyResult latency(const std::string& model_dir, const std::string& device, int reps, int warmup);

// Greedy generation with a Hugging Face causal LM folder (GPT-2 or Llama family) as
// transformers' generate runs it in bench/llama_generate.py: prompts (batch, P) of token ids,
// one pass over the prompt then exactly new_tokens tokens through the KV cache, no stop.
// seconds: per run; tokens_per_sec: batch * new_tokens / median seconds.
struct GenerateResult {
  Stats seconds;
  double tokens_per_sec = 0;
};
// decode_weights: the Llama family's cpu_decode_weights (float32 | float16 | gguf-blocks).
GenerateResult lm_generate(const std::string& lm_dir, const std::vector<std::vector<int64_t>>& prompts, int new_tokens,
                           const std::string& device, int reps, int warmup, const std::string& decode_weights = "float32");

// Peak resident memory of this process so far (Linux VmHWM), in MiB; 0 when unknown.
double peak_rss_mb();
// Resident memory of this process now (Linux VmRSS), in MiB; 0 when unknown.
double rss_mb();

}  // namespace latent::bench
