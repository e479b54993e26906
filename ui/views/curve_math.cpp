#include "views/curve_math.h"

#include <algorithm>
#include <cmath>

namespace latent::ui {

double clampSmoothingWeight(double weight) {
  if (!(weight > 0)) return 0;  // also NaN
  return std::min(weight, 0.999);
}

double DebiasedEma::push(double y) {
  if (!std::isfinite(y)) return y;
  biased_ = w_ * biased_ + (1 - w_) * y;
  wPow_ *= w_;
  if (wPow_ < 1e-30) wPow_ = 0;  // 1 - wPow_ is exactly 1 by then; avoids denormals
  return biased_ / (1 - wPow_);
}

std::vector<double> smoothDebiased(const std::vector<double>& y, double weight) {
  DebiasedEma ema(weight);
  std::vector<double> out;
  out.reserve(y.size());
  for (double v : y) out.push_back(ema.push(v));
  return out;
}

Decimated minMaxDecimate(const std::vector<double>& x, const std::vector<double>& y, double xLo, double xHi,
                         int buckets) {
  const size_t n = std::min(x.size(), y.size());
  if (xHi < xLo) std::swap(xLo, xHi);
  buckets = std::max(buckets, 1);
  const auto xEnd = x.begin() + static_cast<std::ptrdiff_t>(n);
  // [first, last): points inside the range; [lo, hi): with one neighbour each side.
  const size_t first = static_cast<size_t>(std::lower_bound(x.begin(), xEnd, xLo) - x.begin());
  const size_t last = static_cast<size_t>(std::upper_bound(x.begin(), xEnd, xHi) - x.begin());
  const size_t lo = first > 0 ? first - 1 : 0;
  const size_t hi = std::max(lo, last < n ? last + 1 : n);

  Decimated out;
  if (hi - lo <= 2 * static_cast<size_t>(buckets)) {
    out.x.assign(x.begin() + static_cast<std::ptrdiff_t>(lo), x.begin() + static_cast<std::ptrdiff_t>(hi));
    out.y.assign(y.begin() + static_cast<std::ptrdiff_t>(lo), y.begin() + static_cast<std::ptrdiff_t>(hi));
    return out;
  }
  out.x.reserve(2 * static_cast<size_t>(buckets) + 2);
  out.y.reserve(2 * static_cast<size_t>(buckets) + 2);
  auto keep = [&](size_t i) {
    out.x.push_back(x[i]);
    out.y.push_back(y[i]);
  };
  if (lo < first) keep(lo);

  // More than 2*buckets points inside means xHi > xLo unless x repeats; then all share bucket 0.
  const double scale = xHi > xLo ? buckets / (xHi - xLo) : 0.0;
  int bucket = -1;
  size_t iMin = 0, iMax = 0;
  bool have = false;  // the current bucket has a finite point
  auto flush = [&] {
    if (!have) return;
    keep(std::min(iMin, iMax));
    if (iMin != iMax) keep(std::max(iMin, iMax));
  };
  for (size_t i = first; i < last; ++i) {
    const int b = std::min(static_cast<int>((x[i] - xLo) * scale), buckets - 1);
    if (b != bucket) {
      flush();
      bucket = b;
      have = false;
    }
    const double v = y[i];
    if (!std::isfinite(v)) continue;
    if (!have) {
      iMin = iMax = i;
      have = true;
    } else if (v < y[iMin]) {
      iMin = i;
    } else if (v > y[iMax]) {
      iMax = i;
    }
  }
  flush();
  if (last < n) keep(last);
  return out;
}

}  // namespace latent::ui
