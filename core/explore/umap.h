// UMAP (McInnes, Healy & Melville 2018), the neighbour-preserving projection of the latent
// map, written after umap-learn 0.5 (what its users run): exact k-nearest neighbours, the
// fuzzy simplicial set with smooth_knn_dist's bandwidths, the union symmetrisation, a PCA
// initialisation scaled to [0, 10] (umap-learn's init="pca"), and optimize_layout_euclidean's
// SGD with negative sampling. No Qt; tests compare its trustworthiness with umap-learn's on
// scikit-learn's digits (tests/fixtures/explore/make_umap_fixture.py).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>

namespace latent {

struct UmapOptions {
  int neighbors = 15;       // n_neighbors (the point itself included, as umap-learn counts)
  double min_dist = 0.1;
  double spread = 1.0;
  int epochs = 0;           // 0: 500 up to 10,000 points, else 200 (umap-learn's default)
  int negative_rate = 5;
  uint64_t seed = 0;
};

// Exact neighbours cost N^2: beyond this many points the map offers PCA only.
constexpr int64_t kMaxUmapPoints = 200000;

// Called with the stage ("neighbours", "graph", "layout") and the fraction done; returning
// false cancels (umap then throws Cancelled, from explore/corpus_latents.h).
using UmapProgress = std::function<bool(const std::string& stage, double fraction)>;

// x (N, D) -> (N, 2) float32. N >= neighbors + 1 and N <= kMaxUmapPoints.
at::Tensor umap(const at::Tensor& x, const UmapOptions& options = {}, const UmapProgress& progress = {});

// umap() through a cache file (any path; a file of the wrong shape or with damage is
// recomputed and rewritten; a cache that cannot be written is skipped). The caller's path
// must name everything the layout depends on: the latents and the options.
at::Tensor umap_cached(const at::Tensor& x, const UmapOptions& options, const std::string& cache_path,
                       const UmapProgress& progress = {}, bool* from_cache = nullptr);
// "n15-d0.1-e0-s0": the options, for cache file names.
std::string umap_options_key(const UmapOptions& options);

// umap-learn's find_ab_params: a and b of 1 / (1 + a d^(2b)) fitted (least squares) to
// 1 below min_dist and exp(-(d - min_dist) / spread) above, on 300 points of [0, 3 spread].
std::pair<double, double> umap_ab(double min_dist, double spread);

// sklearn.manifold.trustworthiness(x, embedded, n_neighbors=k): how far the embedding's k
// nearest neighbours are from being the original's (1 = all kept). Exact: N^2 memory,
// for N up to ~10,000.
double trustworthiness(const at::Tensor& x, const at::Tensor& embedded, int k = 5);

// Places new latents z (M, D) on an existing layout as umap-learn's `transform` does: their
// `neighbors` nearest points of x with smooth-kNN weights (local connectivity 0), a start at
// the membership-weighted mean of those points' positions (on the point itself when z equals
// a mapped latent, or within 1e-4 of the neighbourhood's mean distance of one: float rounding
// of the same sentence's encoding; such a latent stays there, where umap-learn would move it
// a little), then transform's SGD against the fixed layout (n_epochs / 3, 100 when
// epochs is 0, attraction along the edges, negative samples from the layout, alpha 1 / 4).
// Deterministic for a seed. x (N, D), layout (N, 2) -> (M, 2). Checked against umap-learn's
// transform on scikit-learn's digits (tests/fixtures/explore/make_umap_transform_fixture.py).
at::Tensor umap_place(const at::Tensor& x, const at::Tensor& layout, const at::Tensor& z, const UmapOptions& options = {});

}  // namespace latent
