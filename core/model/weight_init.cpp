#include "model/weight_init.h"

#include <ATen/ATen.h>

namespace latent {

namespace {
thread_local bool skip_draws = false;
}

SkipWeightDraws::SkipWeightDraws() : previous_(skip_draws) { skip_draws = true; }
SkipWeightDraws::~SkipWeightDraws() { skip_draws = previous_; }

bool weight_draws_skipped() { return skip_draws; }

void init_normal(const at::Tensor& t, double std) {
  if (!skip_draws) t.normal_(0.0, std);
}

}  // namespace latent
