// Autocast for the training step's forward pass: bf16/fp16 on CUDA (train.precision), bf16 on
// the CPU (train.cpu_precision). Autocast state is thread-local: set in the training thread.
#pragma once

#include <ATen/autocast_mode.h>

namespace latent {

class AutocastGuard {
 public:
  AutocastGuard(bool on, at::ScalarType dtype, at::DeviceType device = at::kCUDA) : on_(on), device_(device) {
    if (!on_) return;
    at::autocast::set_autocast_enabled(device_, true);
    at::autocast::set_autocast_dtype(device_, dtype);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(device_, false);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool on_;
  at::DeviceType device_;
};

}  // namespace latent
