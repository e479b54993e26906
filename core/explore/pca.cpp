#include "explore/pca.h"

#include <ATen/ATen.h>

#include "util/error.h"

namespace latent {

at::Tensor Pca::project(const at::Tensor& x) const {
  return at::matmul(x.to(at::kFloat) - mean, components.t());
}

Pca fit_pca(const at::Tensor& x_in, int k) {
  if (x_in.dim() != 2) throw Error("pca", "expects a matrix of latents (N, D)");
  const int64_t n = x_in.size(0), d = x_in.size(1);
  if (n < 2) throw Error("pca", "needs at least 2 points, got " + std::to_string(n));
  if (k < 1 || k > d) throw Error("pca", "components must be between 1 and " + std::to_string(d));
  const auto x = x_in.to(at::kCPU, at::kFloat).contiguous();
  if (!at::isfinite(x).all().item<bool>()) throw Error("pca", "the latents hold NaN or infinite values");

  // Two passes in chunks: the mean, then the scatter matrix of the centred rows. float64
  // accumulation keeps 1M rows exact to ~1e-12 relative.
  constexpr int64_t chunk = 65536;
  auto sum = at::zeros({d}, at::kDouble);
  for (int64_t s = 0; s < n; s += chunk) sum += x.slice(0, s, std::min(n, s + chunk)).to(at::kDouble).sum(0);
  const auto mean = sum / static_cast<double>(n);
  auto scatter = at::zeros({d, d}, at::kDouble);
  for (int64_t s = 0; s < n; s += chunk) {
    const auto c = x.slice(0, s, std::min(n, s + chunk)).to(at::kDouble) - mean;
    scatter += at::matmul(c.t(), c);
  }
  const auto cov = scatter / static_cast<double>(n - 1);
  auto [values, vectors] = at::linalg_eigh(cov);  // ascending
  values = values.flip(0).clamp_min(0.0);
  vectors = vectors.flip(1).t().contiguous();      // rows, descending
  auto top = vectors.slice(0, 0, k).clone();
  // Sign convention: the largest-magnitude loading of each component is positive.
  const auto idx = top.abs().argmax(1);
  const auto sign = (top.gather(1, idx.unsqueeze(1)) >= 0).to(at::kDouble) * 2 - 1;
  top = top * sign;

  Pca p;
  p.mean = mean.to(at::kFloat);
  p.components = top.to(at::kFloat);
  p.total_variance = values.sum().item<double>();
  for (int i = 0; i < k; ++i) {
    const double v = values[i].item<double>();
    p.explained_variance.push_back(v);
    p.explained_ratio.push_back(p.total_variance > 0 ? v / p.total_variance : 0.0);
  }
  return p;
}

}  // namespace latent
