// How far a latent can move before the decoder stops making sense: reconstruction BLEU of
// held-out sentences when their posterior means are perturbed by Gaussian noise of growing
// scale, as PLANNER's AuBLEU measures it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace latent {

class Generator;

struct RobustnessCurve {
  std::vector<double> scales;  // noise scale, relative to the latents' spread
  std::vector<double> bleu;    // corpus BLEU x100 at each scale
  double au_bleu = 0;          // area under bleu(scale) / (last scale - first scale): 0..100
  size_t n = 0;                // sentences
};

// z = mu + s * sigma (.) eps, where sigma is the per-dimension standard deviation of the
// held-out sentences' mu (the spread of the data in each direction) and eps ~ N(0, I)
// drawn from seed (the same eps at every scale, so the curve is a path, not scattered
// draws). Scales must ascend from >= 0; the area is the trapezoid rule.
RobustnessCurve robustness_curve(Generator& g, const std::vector<std::string>& sentences,
                                 const std::vector<double>& scales, uint64_t seed = 0);

// 0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1: dense at the low end, where models differ (the
// embedded default's BLEU is gone by 0.75).
std::vector<double> default_robustness_scales();

}  // namespace latent
