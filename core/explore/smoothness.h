// How smoothly a model's latent space reads along straight paths between sentences (the
// comparison of docs/DESIGNS.md): for random pairs of held-out sentences, the 10 points of
// the line from one posterior mean to the other are decoded greedily.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace latent {

class Generator;

struct InterpolationSmoothness {
  size_t pairs = 0;
  int points = 0;
  // Mean over paths of the mean sentence BLEU (nltk method1, x100) of each point's decoding
  // against the previous point's: high when a path changes a little at a time. A model that
  // writes the same sentence everywhere scores 100 too: read it with midpoint_neither.
  double consecutive_bleu = 0;
  // Share of paths whose midpoint (t = 0.5, decoded apart from the points) decodes to
  // neither end's decoding: the path passes through something of its own.
  double midpoint_neither = 0;
  // What was decoded: per path its points' texts, then its midpoint's (pairs x (points + 1)).
  std::vector<std::string> texts;
};

// pairs random pairs of distinct sentences (seeded) among `sentences`; points >= 3.
InterpolationSmoothness interpolation_smoothness(Generator& g, const std::vector<std::string>& sentences, size_t pairs,
                                                 int points = 10, uint64_t seed = 0);

}  // namespace latent
