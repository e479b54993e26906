#include "model/half_weights.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>

namespace latent {

const at::Tensor& HalfWeights::copy_of(const at::Tensor& weight) {
  Copy& c = copies_[weight.unsafeGetTensorImpl()];
  const int64_t version = weight._version();
  if (!c.half.defined() || c.data != weight.data_ptr() || c.version != version) {
    c10::InferenceMode normal(false);  // an ordinary tensor, usable in and out of inference mode
    c.half = weight.detach().to(at::kHalf).contiguous();
    c.data = weight.data_ptr();
    c.version = version;
  }
  return c.half;
}

at::Tensor HalfWeights::linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const bool few_rows = x.dim() >= 1 && x.size(-1) > 0 && x.numel() / x.size(-1) <= kMaxRows;
  if (!enabled_ || !few_rows || !x.device().is_cpu() || x.scalar_type() != at::kFloat ||
      weight.scalar_type() != at::kFloat || at::GradMode::is_enabled())
    return at::linear(x, weight, bias);
  at::Tensor half;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    half = copy_of(weight);
  }
  at::Tensor y = at::linear(x.to(at::kHalf), half).to(at::kFloat);
  if (!y.isfinite().all().item<bool>()) y = at::matmul(x, weight.t());
  return bias.defined() ? y + bias : y;
}

}  // namespace latent
