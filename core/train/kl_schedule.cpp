#include "train/kl_schedule.h"

#include <algorithm>
#include <cmath>

namespace latent {

double optimus_beta(int64_t step, int64_t n_iter, int cycles, double ratio_increase, double ratio_zero, double stop) {
  // Optimus's frange_cycle_zero_linear(n_iter, 0, stop, cycles, ratio_increase, ratio_zero)[step]:
  // the array starts at `stop`; each cycle c writes L[int(i + c period)] for i = 0, 1, ...
  // while v <= stop: 0 while i < period x ratio_zero, then v, which grows by the step.
  if (step < 0 || step >= n_iter) return stop;
  const double period = static_cast<double>(n_iter) / cycles;
  const double inc = stop / (period * ratio_increase);
  double value = stop;
  for (int c = 0; c < cycles; ++c) {
    double v = 0;
    for (int64_t i = 0; v <= stop; ++i) {
      const auto at = static_cast<int64_t>(static_cast<double>(i) + c * period);
      if (at >= n_iter || at > step) break;
      double written;
      if (static_cast<double>(i) < period * ratio_zero) {
        written = 0;
      } else {
        written = v;
        v += inc;
      }
      if (at == step) value = written;
    }
  }
  return value;
}

double trapezoid_beta(int64_t step, int64_t n_iter, int cycles, double ratio_zero, double ratio_increase,
                      double ratio_decrease, double stop) {
  const double period = static_cast<double>(n_iter) / std::max(cycles, 1);
  const double pos = step >= n_iter ? period : std::fmod(static_cast<double>(step), period);
  const double zero = ratio_zero * period, up = ratio_increase * period, down = ratio_decrease * period;
  if (pos < zero) return 0.0;
  if (pos < zero + up) return stop * (pos - zero) / up;
  if (down <= 0 || pos <= period - down) return stop;
  return stop * (period - pos) / down;
}

double regularizer_scale_at(const ModelConfig& m, int64_t step) {
  if (m.regularizer_warmup_k <= 0) return 1.0;
  return 1.0 / (1.0 + std::exp(-(m.regularizer_warmup_k * static_cast<double>(step) - m.regularizer_warmup_b)));
}

double kl_weight_at(const ModelConfig& m, int64_t step) {
  if (m.posterior == "fixed" || m.kl_schedule == "constant" || m.kl_anneal_steps == 0) return m.kl_weight;
  if (m.kl_schedule == "optimus")
    return optimus_beta(step, m.kl_anneal_steps, m.kl_cycles, m.kl_ratio_increase, m.kl_ratio_zero, m.kl_weight);
  if (m.kl_schedule == "trapezoid")
    return trapezoid_beta(step, m.kl_anneal_steps, m.kl_cycles, m.kl_ratio_zero, m.kl_ratio_increase,
                          m.kl_ratio_decrease, m.kl_weight);
  const double n = m.kl_anneal_steps;
  const double pos = m.kl_schedule == "cyclical" ? std::fmod(static_cast<double>(step), n) : static_cast<double>(step);
  // cyclical: rise over the first half of each cycle, then hold (Fu et al. 2019)
  const double rise = m.kl_schedule == "cyclical" ? n / 2 : n;
  return m.kl_weight * std::min(1.0, pos / rise);
}

}  // namespace latent
