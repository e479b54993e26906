// The KL weight schedules of model.kl_schedule (model/config.h): DMLP's constant, linear
// warm-up, cyclical, Optimus's and the trapezoid. Free of LibTorch.
#pragma once

#include <cstdint>

#include "model/config.h"

namespace latent {

// The KL weight at an optimiser step (model.kl_schedule; posterior "learned" or "deterministic").
double kl_weight_at(const ModelConfig& m, int64_t step);
// The regulariser weight's warm-up factor at an optimiser step: sigmoid(k step - b) with
// model.regularizer_warmup_k > 0 (transformer-vae's schedule), else 1.
double regularizer_scale_at(const ModelConfig& m, int64_t step);
// One step of the trapezoid schedule (model/config.h): cycles of n_iter / cycles steps, each
// 0 for ratio_zero of it, rising linearly to stop over ratio_increase, holding, and falling
// linearly to 0 over the last ratio_decrease; past n_iter, the value at the end.
double trapezoid_beta(int64_t step, int64_t n_iter, int cycles, double ratio_zero, double ratio_increase,
                      double ratio_decrease, double stop);
// Optimus's frange_cycle_zero_linear(n_iter, 0, stop, cycles, ratio_increase, ratio_zero)[step]
// (examples/big_ae/utils.py), computed for one step; `stop` past the end.
double optimus_beta(int64_t step, int64_t n_iter, int cycles, double ratio_increase, double ratio_zero, double stop);

}  // namespace latent
