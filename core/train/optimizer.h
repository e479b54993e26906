// Adam / AdamW (PyTorch semantics) over named parameters, with state that saves and
// loads by parameter name, and DMLP's learning-rate schedule.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.h"
#include "model/config.h"

namespace latent {

class AdamOptimizer {
 public:
  // params: the trainable ones only, by name.
  AdamOptimizer(std::vector<std::pair<std::string, at::Tensor>> params, const TrainConfig& c);

  void zero_grad();
  void step(double lr);  // one update from the current gradients
  int64_t steps() const { return step_; }
  const std::vector<std::pair<std::string, at::Tensor>>& params() const { return params_; }

  // "exp_avg.<name>" and "exp_avg_sq.<name>" tensors (CPU copies).
  io::NamedTensors state() const;
  // Restores moments saved by state(); where names the file in errors.
  void load_state(const io::NamedTensors& tensors, int64_t step, const std::string& where);

 private:
  std::vector<std::pair<std::string, at::Tensor>> params_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  int64_t step_ = 0;
  double beta1_ = 0.9, beta2_ = 0.999, eps_, weight_decay_;
  bool decoupled_;  // AdamW
};

// Polynomial decay with linear warm-up (DMLP / Hugging Face): warm-up to lr over
// warmup_steps, then (lr - lr_end) * (1 - progress)^power + lr_end. step counts from 0.
double lr_at(const TrainConfig& c, int64_t step, int64_t total_steps);

}  // namespace latent
