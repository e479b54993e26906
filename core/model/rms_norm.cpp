#include "model/rms_norm.h"

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <cmath>

namespace latent {

at::Tensor rms_norm_rows(const at::Tensor& x, const at::Tensor& weight, double eps) {
  if (at::GradMode::is_enabled() || !x.device().is_cpu() || !weight.device().is_cpu() || x.scalar_type() != at::kFloat ||
      weight.scalar_type() != at::kFloat || x.dim() < 1 || weight.dim() != 1 || x.size(-1) != weight.size(0) ||
      x.numel() == 0)
    return {};
  const at::Tensor xc = x.contiguous(), w = weight.contiguous();
  at::Tensor y = at::empty_like(xc);
  const int64_t H = xc.size(-1), rows = xc.numel() / H;
  const float *xp = xc.data_ptr<float>(), *wp = w.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, rows, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* a = xp + r * H;
      float* b = yp + r * H;
      double ss = 0;
      for (int64_t j = 0; j < H; ++j) ss += static_cast<double>(a[j]) * a[j];
      const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(H)) + static_cast<float>(eps));
      for (int64_t j = 0; j < H; ++j) b[j] = wp[j] * (a[j] * inv);
    }
  });
  return y;
}

}  // namespace latent
