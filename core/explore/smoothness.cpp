#include "explore/smoothness.h"

#include <ATen/ATen.h>

#include <random>
#include <unordered_set>

#include "eval/bleu.h"
#include "infer/generator.h"
#include "util/error.h"
#include "util/utf8.h"

namespace latent {
InterpolationSmoothness interpolation_smoothness(Generator& g, const std::vector<std::string>& sentences, size_t pairs,
                                                 int points, uint64_t seed) {
  if (points < 3) throw Error("interpolation smoothness", "needs at least 3 points per path");
  if (pairs == 0) throw Error("interpolation smoothness", "needs at least one pair");
  std::vector<size_t> distinct;  // indices of the first occurrence of each sentence
  {
    std::unordered_set<std::string> seen;
    for (size_t i = 0; i < sentences.size(); ++i)
      if (seen.insert(sentences[i]).second) distinct.push_back(i);
  }
  if (distinct.size() < 2) throw Error("interpolation smoothness", "needs at least 2 distinct held-out sentences");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, distinct.size() - 1);
  std::vector<std::string> ends;  // a0, b0, a1, b1, ...
  for (size_t p = 0; p < pairs; ++p) {
    const size_t a = pick(rng);
    size_t b = pick(rng);
    while (b == a) b = pick(rng);
    ends.push_back(sentences[distinct[a]]);
    ends.push_back(sentences[distinct[b]]);
  }
  const auto mu = g.encode(ends);  // (2 pairs, D)
  const auto za = mu.slice(0, 0, mu.size(0), 2), zb = mu.slice(0, 1, mu.size(0), 2);  // (pairs, D)
  std::vector<at::Tensor> rows;  // per path: the points, then the midpoint
  for (int k = 0; k < points; ++k) {
    const double t = static_cast<double>(k) / (points - 1);
    rows.push_back(((1 - t) * za + t * zb).unsqueeze(1));
  }
  rows.push_back((0.5 * za + 0.5 * zb).unsqueeze(1));
  const auto z = at::cat(rows, 1).reshape({static_cast<int64_t>(pairs) * (points + 1), mu.size(1)});
  const auto text = g.decode(z);
  InterpolationSmoothness s;
  s.pairs = pairs;
  s.points = points;
  double bleu_sum = 0;
  size_t neither = 0;
  for (size_t p = 0; p < pairs; ++p) {
    const size_t base = p * static_cast<size_t>(points + 1);
    double path = 0;
    for (int k = 1; k < points; ++k)
      path += sentence_bleu_method1({utf8::split_whitespace(text[base + k - 1])}, utf8::split_whitespace(text[base + k]));
    bleu_sum += path / (points - 1);
    const std::string& mid = text[base + static_cast<size_t>(points)];
    if (mid != text[base] && mid != text[base + static_cast<size_t>(points) - 1]) ++neither;
  }
  s.consecutive_bleu = 100.0 * bleu_sum / static_cast<double>(pairs);
  s.midpoint_neither = static_cast<double>(neither) / static_cast<double>(pairs);
  s.texts = text;
  return s;
}

}  // namespace latent
