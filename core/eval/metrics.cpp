#include "eval/metrics.h"

#include <ATen/ATen.h>

#include "eval/bleu.h"
#include "infer/generator.h"

namespace latent {

ReconstructionScore reconstruction_bleu(Generator& g, const std::vector<std::string>& sentences, int margin) {
  if (sentences.empty()) return {};
  return decoded_bleu(g, g.encode(sentences), sentences, margin);
}

ReconstructionScore decoded_bleu(Generator& g, const at::Tensor& z, const std::vector<std::string>& sentences, int margin) {
  ReconstructionScore r;
  r.n = sentences.size();
  if (sentences.empty()) return r;
  std::vector<int> caps;
  caps.reserve(sentences.size());
  for (const auto& s : sentences) caps.push_back(static_cast<int>(g.tokenizers().decoder->encode(s).size()) + margin);
  const auto ids = g.decode_ids(z, DecodeOptions{}, caps);
  std::vector<std::vector<std::string>> refs;
  for (size_t i = 0; i < sentences.size(); ++i) {
    r.hypotheses.push_back(g.tokenizers().decoder->decode(ids[i]));
    refs.push_back({sentences[i]});
  }
  r.bleu = 100.0 * corpus_bleu(refs, r.hypotheses).bleu;
  return r;
}

int active_units(const at::Tensor& mu, double threshold) {
  if (mu.size(0) < 2) return 0;
  return static_cast<int>(mu.to(at::kDouble).var(0).gt(threshold).sum().item<int64_t>());
}

double mean_latent_norm(const at::Tensor& mu) {
  if (mu.size(0) == 0) return 0.0;
  return mu.to(at::kDouble).norm(2, 1).mean().item<double>();
}

double unique_ratio(const std::vector<std::string>& samples) {
  if (samples.empty()) return 0.0;
  return static_cast<double>(std::unordered_set<std::string>(samples.begin(), samples.end()).size()) /
         static_cast<double>(samples.size());
}

double novelty(const std::vector<std::string>& samples, const std::unordered_set<std::string>& training) {
  if (samples.empty()) return 0.0;
  size_t novel = 0;
  for (const auto& s : samples) novel += training.count(s) == 0;
  return static_cast<double>(novel) / static_cast<double>(samples.size());
}

}  // namespace latent
