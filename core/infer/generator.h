// Inference on a trained VaeDdpm: encoding, KV-cached decoding (greedy, temperature,
// top-k, top-p), reconstruction, interpolation, analogy, posterior samples, and
// generation from the diffusion prior. Runs under InferenceMode, in batches.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "model/vae_ddpm.h"
#include "text/codec.h"

namespace latent {

struct DecodeOptions {
  std::string strategy = "greedy";  // greedy | sample
  double temperature = 1.0;         // sample only
  int top_k = 0;                    // sample only; 0 = off
  double top_p = 1.0;               // sample only; 1 = off
  int max_tokens = 0;               // 0 = the model's max_length + 1 (room for EOS)
  uint64_t seed = 0;                // sample only (CPU; on CUDA the device generator is used)
  bool stop_at_eos = true;          // false: EOS is a token like any other (benchmarks: fixed length)
  // DAVAE's repetition penalty (simulate_batch, as its code runs it): the probability of
  // every distinct token already in the row (BOS included) is divided by it, after the
  // temperature and top-k/top-p, i.e. its logit is lowered by ln(penalty); greedy decoding
  // takes the argmax of the penalised logits. 1 = off; below 1 favours repeats.
  double repetition_penalty = 1.0;
};

struct Interpolation {
  std::vector<double> t;               // n points in [0, 1]
  at::Tensor latents;                  // (n, D)
  std::vector<std::string> sentences;  // decoded
};

class Generator {
 public:
  Generator(VaeDdpm model, Tokenizers tokenizers, at::Device device = at::kCPU, int batch_size = 128);

  // Posterior means of sentences: (N, D) float32 on the CPU.
  at::Tensor encode(const std::vector<std::string>& sentences);
  // Token ids of each latent row (no BOS/EOS); caps[i] > 0 limits row i (e.g. reference length + margin).
  std::vector<std::vector<int>> decode_ids(const at::Tensor& z, const DecodeOptions& opt, const std::vector<int>& caps = {});
  // Greedy decoding that re-runs the whole prefix every step, as DMLP does: the reference
  // the KV cache is tested and benchmarked against.
  std::vector<std::vector<int>> decode_ids_uncached(const at::Tensor& z, int max_tokens, bool stop_at_eos = true);
  std::vector<std::string> decode(const at::Tensor& z, const DecodeOptions& opt = {});

  std::vector<std::string> reconstruct(const std::vector<std::string>& sentences, const DecodeOptions& opt = {});
  Interpolation interpolate(const std::string& a, const std::string& b, int n, bool slerp, const DecodeOptions& opt = {});
  // b - a + c, as Optimus.
  std::string analogy(const std::string& a, const std::string& b, const std::string& c, const DecodeOptions& opt = {});
  // Paraphrases (DAVAE's simulate_batch): k decodings of mu + noise_scale * sigma * eps around
  // a sentence's posterior, sigma = exp(logvar / 2) of the model's posterior (the fixed
  // variance of DMLP's, the encoder's own with a learned one, 1 with a deterministic one).
  std::vector<std::string> posterior_samples(const std::string& sentence, int k, double noise_scale, uint64_t seed,
                                             const DecodeOptions& opt = {});

  // Latents from the diffusion prior. sampler: "ddpm" (ancestral, T steps) or "ddim".
  // cb(step, x) after every step, x (n, D) on the model's device.
  at::Tensor sample_latents(int64_t n, const std::string& sampler, int ddim_steps, uint64_t seed,
                            const std::function<void(int, const at::Tensor&)>& cb = {});

  VaeDdpm& model() { return model_; }
  const Tokenizers& tokenizers() const { return tok_; }
  const at::Device& device() const { return device_; }
  int max_tokens() const { return model_->config.max_length + 1; }

 private:
  std::vector<std::vector<int>> decode_batch(const at::Tensor& z, const DecodeOptions& opt, const std::vector<int>& caps,
                                             at::Generator gen);

  VaeDdpm model_;
  Tokenizers tok_;
  at::Device device_;
  int batch_size_;
};

// Token ids -> padded (B, L) int64 tensor of `bos ids eos` rows, padded with ids.pad
// (the model's input format for the side whose special ids these are).
at::Tensor pad_sequences(const std::vector<std::vector<int>>& seqs, const SpecialIds& ids, bool add_bos_eos = true);

// Spherical interpolation between rows a and b (D,), t in [0, 1]; linear when they are parallel.
at::Tensor slerp(const at::Tensor& a, const at::Tensor& b, double t);

}  // namespace latent
