#include "explore/umap.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "explore/corpus_latents.h"
#include "explore/pca.h"
#include "io/safetensors.h"
#include "util/error.h"

namespace latent {
namespace {

struct Knn {
  std::vector<int64_t> idx;  // (N, k) row-major; column 0 is the point itself
  std::vector<float> dist;   // (N, k)
  int k = 0;
};

// Exact k nearest neighbours (self first) by chunks of squared distances through BLAS.
Knn knn(const at::Tensor& x, int k, const UmapProgress& progress) {
  const int64_t n = x.size(0);
  const auto sq = (x * x).sum(1);  // (N,)
  const int64_t chunk = std::max<int64_t>(16, 20000000 / std::max<int64_t>(1, n));
  Knn r;
  r.k = k;
  r.idx.resize(static_cast<size_t>(n * k));
  r.dist.resize(static_cast<size_t>(n * k));
  for (int64_t s = 0; s < n; s += chunk) {
    const int64_t e = std::min(n, s + chunk);
    auto d2 = sq.slice(0, s, e).unsqueeze(1) + sq.unsqueeze(0) - 2 * at::matmul(x.slice(0, s, e), x.t());  // (c, N)
    // The point itself first, whatever rounding gives its own distance.
    d2.scatter_(1, at::arange(s, e, at::kLong).unsqueeze(1), -1.0f);
    auto [vals, ids] = d2.topk(k, 1, /*largest=*/false, /*sorted=*/true);
    vals = vals.clamp_min(0).sqrt().contiguous();
    ids = ids.contiguous();
    std::copy(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel(), r.idx.begin() + s * k);
    std::copy(vals.data_ptr<float>(), vals.data_ptr<float>() + vals.numel(), r.dist.begin() + s * k);
    if (progress && !progress("neighbours", static_cast<double>(e) / n)) throw Cancelled();
  }
  return r;
}

// smooth_knn_dist's binary search: the bandwidth sigma for which the sum over the 2nd..k-th
// neighbours of exp(-(d - rho) / sigma) is log2(k) (`target`), to 1e-5, in 64 halvings at most.
template <class T>
double bandwidth(const T* d, int k, double rho, double target) {
  double lo = 0, hi = INFINITY, mid = 1;
  for (int it = 0; it < 64; ++it) {
    double psum = 0;
    for (int j = 1; j < k; ++j) {
      const double dd = d[j] - rho;
      psum += dd > 0 ? std::exp(-dd / mid) : 1.0;
    }
    if (std::abs(psum - target) < 1e-5) break;
    if (psum > target) {
      hi = mid;
      mid = (lo + hi) / 2;
    } else {
      lo = mid;
      mid = std::isinf(hi) ? mid * 2 : (lo + hi) / 2;
    }
  }
  return mid;
}

struct Edges {
  std::vector<int32_t> head, tail;
  std::vector<float> weight;
};

// umap-learn's smooth_knn_dist + compute_membership_strengths + fuzzy union.
Edges fuzzy_graph(const Knn& nn, int64_t n) {
  const int k = nn.k;
  const double target = std::log2(static_cast<double>(k));
  std::vector<float> w(static_cast<size_t>(n * k), 0.0f);
  double all_mean = 0;
  for (float v : nn.dist) all_mean += v;
  all_mean /= static_cast<double>(nn.dist.size());
  for (int64_t i = 0; i < n; ++i) {
    const float* d = &nn.dist[static_cast<size_t>(i * k)];
    double rho = 0;
    for (int j = 1; j < k; ++j)
      if (d[j] > 0) {
        rho = d[j];
        break;
      }
    double mid = bandwidth(d, k, rho, target);
    double mean = 0;
    for (int j = 0; j < k; ++j) mean += d[j];
    mean /= k;
    mid = std::max(mid, 1e-3 * (rho > 0 ? mean : all_mean));
    for (int j = 0; j < k; ++j) {
      const int64_t other = nn.idx[static_cast<size_t>(i * k + j)];
      if (other == i) continue;
      const double dd = d[j] - rho;
      w[static_cast<size_t>(i * k + j)] = static_cast<float>(dd <= 0 || mid == 0 ? 1.0 : std::exp(-dd / mid));
    }
  }
  // Union: w_ij + w_ji - w_ij w_ji over the directed kNN edges (missing = 0).
  std::vector<std::tuple<int32_t, int32_t, float>> directed;
  directed.reserve(static_cast<size_t>(n * k * 2));
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < k; ++j) {
      const float v = w[static_cast<size_t>(i * k + j)];
      if (v <= 0) continue;
      const auto o = static_cast<int32_t>(nn.idx[static_cast<size_t>(i * k + j)]);
      directed.emplace_back(static_cast<int32_t>(i), o, v);
      directed.emplace_back(o, static_cast<int32_t>(i), -v);  // transposed entry, marked by sign
    }
  std::sort(directed.begin(), directed.end(), [](const auto& a, const auto& b) {
    return std::get<0>(a) != std::get<0>(b) ? std::get<0>(a) < std::get<0>(b) : std::get<1>(a) < std::get<1>(b);
  });
  Edges e;
  for (size_t s = 0; s < directed.size();) {
    size_t t = s;
    double fw = 0, bw = 0;  // w_ij, w_ji
    while (t < directed.size() && std::get<0>(directed[t]) == std::get<0>(directed[s]) &&
           std::get<1>(directed[t]) == std::get<1>(directed[s])) {
      const float v = std::get<2>(directed[t]);
      (v > 0 ? fw : bw) = std::abs(v);
      ++t;
    }
    const double u = fw + bw - fw * bw;
    if (u > 0) {
      e.head.push_back(std::get<0>(directed[s]));
      e.tail.push_back(std::get<1>(directed[s]));
      e.weight.push_back(static_cast<float>(u));
    }
    s = t;
  }
  return e;
}

}  // namespace

std::pair<double, double> umap_ab(double min_dist, double spread) {
  std::vector<double> xs(300), ys(300);
  for (int i = 0; i < 300; ++i) {
    xs[i] = spread * 3 * i / 299.0;
    ys[i] = xs[i] < min_dist ? 1.0 : std::exp(-(xs[i] - min_dist) / spread);
  }
  // Levenberg-Marquardt on f(x) = 1 / (1 + a x^(2b)), from scipy's start (1, 1).
  double a = 1, b = 1, lambda = 1e-3;
  auto cost = [&](double A, double B) {
    double c = 0;
    for (int i = 0; i < 300; ++i) {
      const double f = 1 / (1 + A * std::pow(xs[i], 2 * B));
      c += (f - ys[i]) * (f - ys[i]);
    }
    return c;
  };
  double current = cost(a, b);
  for (int it = 0; it < 500; ++it) {
    double jtj[2][2] = {{0, 0}, {0, 0}}, jtr[2] = {0, 0};
    for (int i = 0; i < 300; ++i) {
      const double x = xs[i];
      const double p = x > 0 ? std::pow(x, 2 * b) : 0.0;
      const double f = 1 / (1 + a * p);
      const double da = -p * f * f;
      const double db = x > 0 ? -a * p * 2 * std::log(x) * f * f : 0.0;
      const double r = f - ys[i];
      jtj[0][0] += da * da;
      jtj[0][1] += da * db;
      jtj[1][1] += db * db;
      jtr[0] += da * r;
      jtr[1] += db * r;
    }
    jtj[1][0] = jtj[0][1];
    const double m00 = jtj[0][0] * (1 + lambda), m11 = jtj[1][1] * (1 + lambda), m01 = jtj[0][1];
    const double det = m00 * m11 - m01 * m01;
    if (det == 0) break;
    const double sa = -(m11 * jtr[0] - m01 * jtr[1]) / det, sb = -(m00 * jtr[1] - m01 * jtr[0]) / det;
    const double next = cost(a + sa, b + sb);
    if (next < current) {
      a += sa;
      b += sb;
      lambda /= 10;
      if (current - next < 1e-15) break;
      current = next;
    } else {
      lambda *= 10;
      if (lambda > 1e12) break;
    }
  }
  return {a, b};
}

at::Tensor umap(const at::Tensor& x_in, const UmapOptions& o, const UmapProgress& progress) {
  if (x_in.dim() != 2) throw Error("umap", "expects a matrix of latents (N, D)");
  const int64_t n = x_in.size(0);
  if (o.neighbors < 2) throw Error("umap", "neighbors must be at least 2");
  if (n <= o.neighbors) throw Error("umap", "needs more points than neighbors (" + std::to_string(o.neighbors) + "), got " + std::to_string(n));
  if (n > kMaxUmapPoints)
    throw Error("umap", std::to_string(n) + " points: UMAP here finds exact neighbours and maps at most " +
                            std::to_string(kMaxUmapPoints) + "; use PCA, or map a sample");
  const auto x = x_in.to(at::kCPU, at::kFloat).contiguous();
  if (!at::isfinite(x).all().item<bool>()) throw Error("umap", "the latents hold NaN or infinite values");

  const Knn nn = knn(x, o.neighbors, progress);
  Edges g = fuzzy_graph(nn, n);
  if (progress && !progress("graph", 1.0)) throw Cancelled();
  const int epochs = o.epochs > 0 ? o.epochs : (n <= 10000 ? 500 : 200);
  // Edges too weak to be sampled even once are dropped (umap-learn).
  const float wmax = *std::max_element(g.weight.begin(), g.weight.end());
  std::vector<double> eps_per_sample;
  std::vector<int32_t> head, tail;
  for (size_t i = 0; i < g.weight.size(); ++i)
    if (g.weight[i] >= wmax / epochs) {
      head.push_back(g.head[i]);
      tail.push_back(g.tail[i]);
      eps_per_sample.push_back(static_cast<double>(wmax) / g.weight[i]);
    }

  // Initialisation: PCA, scaled to [0, 10] per axis, with 1e-4 of noise (umap-learn's "pca").
  const Pca p = fit_pca(x, 2);
  auto init = p.project(x);
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<float> noise(0, 1e-4f);
  auto lo = std::get<0>(init.min(0)), hi = std::get<0>(init.max(0));
  init = 10 * (init - lo) / (hi - lo).clamp_min(1e-12);
  std::vector<float> emb(static_cast<size_t>(n * 2));
  {
    const auto c = init.contiguous();
    for (int64_t i = 0; i < 2 * n; ++i) emb[static_cast<size_t>(i)] = c.data_ptr<float>()[i] + noise(rng);
  }

  const auto [a, b] = umap_ab(o.min_dist, o.spread);
  const size_t m = head.size();
  std::vector<double> next_sample(eps_per_sample), eps_neg(m), next_neg(m);
  for (size_t i = 0; i < m; ++i) next_neg[i] = eps_neg[i] = eps_per_sample[i] / o.negative_rate;
  std::uniform_int_distribution<int64_t> pick(0, n - 1);
  auto clip = [](double v) { return std::clamp(v, -4.0, 4.0); };
  for (int ep = 0; ep < epochs; ++ep) {
    const double alpha = 1.0 * (1.0 - static_cast<double>(ep) / epochs);
    for (size_t i = 0; i < m; ++i) {
      if (next_sample[i] > ep) continue;
      float* cur = &emb[static_cast<size_t>(head[i]) * 2];
      float* oth = &emb[static_cast<size_t>(tail[i]) * 2];
      double dx = cur[0] - oth[0], dy = cur[1] - oth[1];
      double d2 = dx * dx + dy * dy;
      double coeff = d2 > 0 ? -2.0 * a * b * std::pow(d2, b - 1) / (a * std::pow(d2, b) + 1) : 0.0;
      const double gx = clip(coeff * dx), gy = clip(coeff * dy);
      cur[0] += static_cast<float>(gx * alpha);
      cur[1] += static_cast<float>(gy * alpha);
      oth[0] -= static_cast<float>(gx * alpha);
      oth[1] -= static_cast<float>(gy * alpha);
      next_sample[i] += eps_per_sample[i];
      const int negatives = static_cast<int>((ep - next_neg[i]) / eps_neg[i]);
      for (int q = 0; q < negatives; ++q) {
        const int64_t k = pick(rng);
        if (k == head[i]) continue;
        const float* neg = &emb[static_cast<size_t>(k) * 2];
        dx = cur[0] - neg[0];
        dy = cur[1] - neg[1];
        d2 = dx * dx + dy * dy;
        coeff = d2 > 0 ? 2.0 * b / ((0.001 + d2) * (a * std::pow(d2, b) + 1)) : 0.0;
        const double nx = coeff > 0 ? clip(coeff * dx) : 4.0, ny = coeff > 0 ? clip(coeff * dy) : 4.0;
        cur[0] += static_cast<float>(nx * alpha);
        cur[1] += static_cast<float>(ny * alpha);
      }
      next_neg[i] += negatives * eps_neg[i];
    }
    if (progress && (ep % 10 == 9 || ep == epochs - 1) && !progress("layout", static_cast<double>(ep + 1) / epochs))
      throw Cancelled();
  }
  return at::from_blob(emb.data(), {n, 2}, at::kFloat).clone();
}

std::string umap_options_key(const UmapOptions& o) {
  char key[96];
  std::snprintf(key, sizeof key, "n%d-d%g-s%g-e%d-r%d-seed%llu", o.neighbors, o.min_dist, o.spread, o.epochs, o.negative_rate,
                static_cast<unsigned long long>(o.seed));
  return key;
}

at::Tensor umap_cached(const at::Tensor& x, const UmapOptions& o, const std::string& path, const UmapProgress& progress,
                       bool* from_cache) {
  if (from_cache) *from_cache = false;
  std::error_code ec;
  if (!path.empty() && std::filesystem::exists(path, ec)) {
    try {
      for (const auto& [key, t] : io::load(path))
        if (key == "layout" && t.dim() == 2 && t.size(0) == x.size(0) && t.size(1) == 2 && t.scalar_type() == at::kFloat &&
            at::isfinite(t).all().item<bool>()) {
          if (from_cache) *from_cache = true;
          return t;
        }
    } catch (const std::exception&) {
      // damaged or unreadable: computed again and rewritten
    }
  }
  auto layout = umap(x, o, progress);
  if (!path.empty()) {
    try {
      std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
      io::save(path, {{"layout", layout}}, {{"options", umap_options_key(o)}});
    } catch (const std::exception&) {
      // an unwritable cache only costs the next open time
    }
  }
  return layout;
}

double trustworthiness(const at::Tensor& x_in, const at::Tensor& e_in, int k) {
  const auto x = x_in.to(at::kCPU, at::kDouble), e = e_in.to(at::kCPU, at::kDouble);
  const int64_t n = x.size(0);
  if (e.size(0) != n) throw Error("trustworthiness", "the embedding has another number of points");
  if (k < 1 || k >= n / 2) throw Error("trustworthiness", "k must be in [1, N/2)");
  auto dist = [](const at::Tensor& m) {
    const auto sq = (m * m).sum(1);
    return sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * at::matmul(m, m.t());
  };
  auto dx = dist(x);
  dx.fill_diagonal_(INFINITY);  // sklearn: the point itself is never its own neighbour
  // rank[i][j]: 1-based rank of j among i's neighbours in the original space.
  const auto order = std::get<1>(dx.sort(1));
  auto rank = at::empty({n, n}, at::kLong);
  rank.scatter_(1, order, at::arange(1, n + 1, at::kLong).unsqueeze(0).expand({n, n}).contiguous());
  auto de = dist(e);
  de.fill_diagonal_(INFINITY);
  const auto nbr = std::get<1>(de.topk(k, 1, /*largest=*/false));  // (n, k)
  const auto r = rank.gather(1, nbr) - k;
  const double t = r.clamp_min(0).sum().item<double>();
  return 1.0 - t * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)));
}

at::Tensor umap_place(const at::Tensor& x_in, const at::Tensor& layout_in, const at::Tensor& z_in, const UmapOptions& o) {
  if (x_in.dim() != 2 || layout_in.dim() != 2 || layout_in.size(1) != 2 || layout_in.size(0) != x_in.size(0))
    throw Error("umap_place", "expects latents (N, D) and their layout (N, 2)");
  const auto x = x_in.to(at::kCPU, at::kFloat).contiguous();
  const auto layout = layout_in.to(at::kCPU, at::kFloat).contiguous();
  const auto z = z_in.to(at::kCPU, at::kFloat).reshape({-1, x.size(1)}).contiguous();
  const int64_t n = x.size(0), m = z.size(0), dim = x.size(1);
  if (m == 0) return at::empty({0, 2}, at::kFloat);
  if (!at::isfinite(z).all().item<bool>()) throw Error("umap_place", "the latents to place hold NaN or infinite values");
  const int k = static_cast<int>(std::min<int64_t>(std::max(o.neighbors, 2), n));

  // Neighbours through BLAS, then their distances again exactly (a latent equal to a mapped
  // one is at distance 0, as umap-learn's pairwise distances give).
  const auto d2 = (z * z).sum(1).unsqueeze(1) + (x * x).sum(1).unsqueeze(0) - 2 * at::matmul(z, x.t());  // (M, N)
  const auto ids = std::get<1>(d2.topk(k, 1, /*largest=*/false, /*sorted=*/true)).contiguous();
  const auto exact = (z.unsqueeze(1) - x.index_select(0, ids.reshape({-1})).reshape({m, k, dim})).to(at::kDouble).norm(2, 2);
  auto order = std::get<1>(exact.sort(1, /*descending=*/false)).contiguous();  // ties of the BLAS order resolved exactly
  auto dist_t = exact.gather(1, order).contiguous();
  // A latent within 1e-4 of its neighbourhood's mean distance of a mapped one is that one: the
  // same sentence encoded alone and in a batch differs by float rounding (about 1e-6 here,
  // depending on the CPU's kernels), and umap-learn puts only an exact match on its point.
  dist_t.masked_fill_(dist_t <= 1e-4 * dist_t.mean(1, /*keepdim=*/true), 0.0);
  const auto idx_t = ids.gather(1, order).contiguous();
  const double* dist = dist_t.data_ptr<double>();
  const int64_t* idx = idx_t.data_ptr<int64_t>();

  // smooth_knn_dist with local_connectivity 0 (transform's adjusted value): rho = 0, the
  // bandwidth from the 2nd..k-th distances, floored at 1e-3 of the mean of all distances.
  const double target = std::log2(static_cast<double>(k));
  double all_mean = 0;
  for (int64_t i = 0; i < m * k; ++i) all_mean += dist[i];
  all_mean /= static_cast<double>(m * k);
  std::vector<double> w(static_cast<size_t>(m * k));
  for (int64_t i = 0; i < m; ++i) {
    const double* d = dist + i * k;
    const double mid = std::max(bandwidth(d, k, 0.0, target), 1e-3 * all_mean);
    for (int j = 0; j < k; ++j) w[static_cast<size_t>(i * k + j)] = d[j] <= 0 ? 1.0 : std::exp(-d[j] / mid);
  }

  // init_graph_transform: on the mapped point itself where a weight is 1 (the same latent),
  // else the membership-weighted mean of the neighbours' positions.
  const float* lay = layout.data_ptr<float>();
  std::vector<float> out(static_cast<size_t>(m * 2));
  std::vector<char> mapped(static_cast<size_t>(m), 0);  // rows that are a mapped latent: placed, not optimised
  for (int64_t i = 0; i < m; ++i) {
    double sum = 0, px = 0, py = 0;
    int64_t same = -1;
    for (int j = 0; j < k; ++j) {
      const double v = w[static_cast<size_t>(i * k + j)];
      const int64_t t = idx[i * k + j];
      if (v == 1.0 && (same < 0 || t < same)) same = t;  // umap-learn takes the lowest column
      sum += v;
      px += v * lay[2 * t];
      py += v * lay[2 * t + 1];
    }
    mapped[static_cast<size_t>(i)] = same >= 0;
    out[static_cast<size_t>(2 * i)] = static_cast<float>(same >= 0 ? lay[2 * same] : px / sum);
    out[static_cast<size_t>(2 * i + 1)] = static_cast<float>(same >= 0 ? lay[2 * same + 1] : py / sum);
  }

  // Then transform's optimisation: n_epochs / 3 (100 for up to 10,000 new points, else 30),
  // edges weaker than max / epochs dropped, optimize_layout_euclidean with the layout fixed
  // (move_other false), negative samples drawn from the layout, initial alpha 1 / 4.
  const int epochs = o.epochs > 0 ? std::max(1, o.epochs / 3) : (m <= 10000 ? 100 : 30);
  double wmax = 0;
  for (double v : w) wmax = std::max(wmax, v);
  struct Edge {
    int64_t head, tail;
    double every, next, every_neg, next_neg;
  };
  std::vector<Edge> edges;
  edges.reserve(w.size());
  // A mapped latent stays on its point: its layout position already is the fit's optimum, and
  // transform's SGD would pull it off (towards its other neighbours, by up to a few layout
  // units where they lie apart) only because it treats it as a new vertex. The one place where
  // this departs from umap-learn, which leaves such a point 0.1 units off on digits.
  for (int64_t i = 0; i < m; ++i)
    for (int j = 0; j < k && !mapped[static_cast<size_t>(i)]; ++j) {
      const double v = w[static_cast<size_t>(i * k + j)];
      if (v < wmax / epochs) continue;
      const double every = wmax / v, every_neg = every / o.negative_rate;
      edges.push_back({i, idx[i * k + j], every, every, every_neg, every_neg});
    }
  const auto [a, b] = umap_ab(o.min_dist, o.spread);
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int64_t> pick(0, n - 1);
  auto clip = [](double v) { return std::clamp(v, -4.0, 4.0); };
  for (int ep = 0; ep < epochs; ++ep) {
    const double alpha = 0.25 * (1.0 - static_cast<double>(ep) / epochs);
    for (Edge& e : edges) {
      if (e.next > ep) continue;
      float* cur = &out[static_cast<size_t>(e.head * 2)];
      const float* oth = lay + e.tail * 2;
      double dx = cur[0] - oth[0], dy = cur[1] - oth[1];
      double dd = dx * dx + dy * dy;
      double coeff = dd > 0 ? -2.0 * a * b * std::pow(dd, b - 1) / (a * std::pow(dd, b) + 1) : 0.0;
      cur[0] += static_cast<float>(clip(coeff * dx) * alpha);
      cur[1] += static_cast<float>(clip(coeff * dy) * alpha);
      e.next += e.every;
      const int negatives = static_cast<int>((ep - e.next_neg) / e.every_neg);
      for (int q = 0; q < negatives; ++q) {
        const float* neg = lay + pick(rng) * 2;
        dx = cur[0] - neg[0];
        dy = cur[1] - neg[1];
        dd = dx * dx + dy * dy;
        if (dd <= 0) continue;  // umap-learn: no push from a point it sits on
        coeff = 2.0 * b / ((0.001 + dd) * (a * std::pow(dd, b) + 1));
        cur[0] += static_cast<float>(clip(coeff * dx) * alpha);
        cur[1] += static_cast<float>(clip(coeff * dy) * alpha);
      }
      e.next_neg += negatives * e.every_neg;
    }
  }
  return at::from_blob(out.data(), {m, 2}, at::kFloat).clone();
}

}  // namespace latent
