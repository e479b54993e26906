// Curve math for the loss plot, free of Qt: TensorBoard's debiased exponential smoothing
// and min/max decimation of a sorted series down to a few points per pixel.
#pragma once

#include <vector>

namespace latent::ui {

// Clamps a smoothing weight to [0, 0.999]; NaN gives 0.
double clampSmoothingWeight(double weight);

// Debiased EMA fed one value at a time, so a growing series is smoothed in O(new points).
// Non-finite values come back unchanged and leave the average alone.
class DebiasedEma {
 public:
  explicit DebiasedEma(double weight = 0) : w_(clampSmoothingWeight(weight)) {}
  double push(double y);
  double weight() const { return w_; }

 private:
  double w_;
  double biased_ = 0;  // w*s + (1-w)*y over the finite values so far
  double wPow_ = 1;    // w^(finite values so far); 1 - wPow_ is the debiasing divisor
};

// s = w*s + (1-w)*y_i; out_i = s / (1 - w^(i+1)), i counting finite values only.
// weight 0 is the identity; weights are clamped to [0, 0.999].
std::vector<double> smoothDebiased(const std::vector<double>& y, double weight);

struct Decimated {
  std::vector<double> x, y;
};

// x sorted ascending (y the same length). Takes the points with x in [xLo, xHi] plus one
// neighbour on each side, so lines reach the edges of the view. When that is more than
// 2*buckets points, [xLo, xHi] is cut into `buckets` equal-width buckets and each keeps
// its min and max point in x order (a single spike survives): at most 2*buckets + 2
// points. Non-finite y never wins a bucket. Otherwise the points come back unchanged.
Decimated minMaxDecimate(const std::vector<double>& x, const std::vector<double>& y, double xLo, double xHi,
                         int buckets);

}  // namespace latent::ui
