// Principal components of a cloud of latents (the latent map's exact projection).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace latent {

struct Pca {
  at::Tensor mean;                        // (D,) float32
  at::Tensor components;                  // (k, D) float32, rows orthonormal, by decreasing variance
  std::vector<double> explained_variance; // (k,) variance along each component
  std::vector<double> explained_ratio;    // (k,) its share of the total variance
  double total_variance = 0;

  // (N, D) -> (N, k) float32
  at::Tensor project(const at::Tensor& x) const;
};

// Exact PCA of x (N, D): the eigenvectors of the covariance, accumulated in float64 in
// chunks (x is not copied whole), so 1M x 64 needs no more than x itself. Each
// component's sign is fixed (largest |loading| positive), so results are reproducible.
// Needs N >= 2 and 1 <= k <= D.
Pca fit_pca(const at::Tensor& x, int k = 2);

}  // namespace latent
