#include "explore/robustness.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "eval/metrics.h"
#include "infer/generator.h"
#include "util/error.h"

namespace latent {

std::vector<double> default_robustness_scales() { return {0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1}; }

RobustnessCurve robustness_curve(Generator& g, const std::vector<std::string>& sentences,
                                 const std::vector<double>& scales, uint64_t seed) {
  if (sentences.size() < 2) throw Error("robustness", "needs at least 2 held-out sentences");
  if (scales.size() < 2) throw Error("robustness", "needs at least 2 noise scales");
  for (size_t i = 0; i < scales.size(); ++i)
    if (!(scales[i] >= 0) || (i > 0 && !(scales[i] > scales[i - 1])))
      throw Error("robustness", "noise scales must be >= 0 and ascending");
  RobustnessCurve c;
  c.n = sentences.size();
  c.scales = scales;
  const auto mu = g.encode(sentences);
  const auto sigma = mu.std(0, /*unbiased=*/true);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto eps = at::randn(mu.sizes(), gen, at::kFloat);
  for (double s : scales) c.bleu.push_back(decoded_bleu(g, mu + s * sigma * eps, sentences).bleu);
  double area = 0;
  for (size_t i = 1; i < scales.size(); ++i) area += (scales[i] - scales[i - 1]) * (c.bleu[i] + c.bleu[i - 1]) / 2;
  c.au_bleu = area / (scales.back() - scales.front());
  return c;
}

}  // namespace latent
