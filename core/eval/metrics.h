// Model evaluation as users compare it with DMLP (spec section 7).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <unordered_set>
#include <vector>

namespace latent {

class Generator;

struct ReconstructionScore {
  double bleu = 0.0;  // x100
  size_t n = 0;       // sentences scored
  std::vector<std::string> hypotheses;
};

// Encodes sentences, z = mu, greedy-decodes each until EOS or its own reference length
// (in tokens) + margin, and scores corpus BLEU-4 (whitespace tokens, nltk) x100.
ReconstructionScore reconstruction_bleu(Generator& g, const std::vector<std::string>& sentences, int margin = 5);
// The same from given latents z (N, D), row i scored against references[i].
ReconstructionScore decoded_bleu(Generator& g, const at::Tensor& z, const std::vector<std::string>& references, int margin = 5);

// Latent dimensions whose posterior-mean variance over the data exceeds threshold. mu (N, D).
int active_units(const at::Tensor& mu, double threshold = 0.01);
double mean_latent_norm(const at::Tensor& mu);
// Share of distinct sentences among samples.
double unique_ratio(const std::vector<std::string>& samples);
// Share of samples not found (exactly) in the training corpus.
double novelty(const std::vector<std::string>& samples, const std::unordered_set<std::string>& training);

}  // namespace latent
