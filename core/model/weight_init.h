// The random weights a model's constructor draws, and building a model without drawing them.
//
// A model built only to be loaded (a model folder, a snapshot) gets every parameter and buffer
// from the file: load_state refuses a missing one. Drawing N(0, 0.02) for SmolLM2's 135M
// weights first takes about 1.35 s on the 2-core VM (normal_ runs on one thread), a third of
// the studio's cold start, for numbers that are overwritten at once. The families draw their
// initial weights through init_normal, which draws nothing while a SkipWeightDraws lives on the
// calling thread (model/model_io.cpp's loaders hold one). LibTorch's own layer resets
// (nn::Linear's uniform, nn::Embedding's normal) still run, so no weight is left unset.
#pragma once

#include <ATen/core/Tensor.h>

namespace latent {

class SkipWeightDraws {
 public:
  SkipWeightDraws();
  ~SkipWeightDraws();
  SkipWeightDraws(const SkipWeightDraws&) = delete;
  SkipWeightDraws& operator=(const SkipWeightDraws&) = delete;

 private:
  bool previous_;
};

bool weight_draws_skipped();  // a SkipWeightDraws lives on this thread

// t.normal_(0, std) in place, unless weight_draws_skipped().
void init_normal(const at::Tensor& t, double std);

}  // namespace latent
