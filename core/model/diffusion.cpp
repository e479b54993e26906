// Diffusion over latents (spec section 4). The schedule, the loss and the ancestral
// sampler follow DMLP operation by operation (float32, same op order, scalars taken as
// 0-dim tensors, t/T as an integer-tensor division) so that numbers match DMLP's.
#include "model/diffusion.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "util/error.h"

namespace latent {

namespace {

void check_schedule(const Schedule& s, const char* fn) {
  if (s.T < 1 || !s.alphabar.defined() || s.alphabar.numel() != s.T + 1)
    throw Error(fn, "the schedule is empty or inconsistent (use make_schedule)");
}

// Entry i of a schedule array as a 0-dim tensor usable with tensors on dev: CPU
// scalars mix with any device without a copy, which keeps sampling free of syncs.
at::Tensor scal(const at::Tensor& a, int64_t i, const at::Device& dev) {
  auto v = a[i];
  return (v.is_cpu() || v.device() == dev) ? v : v.to(dev);
}

// a[t] per sample, (B,) on dev, whichever devices a and t live on.
at::Tensor gather(const at::Tensor& a, const at::Tensor& t, const at::Device& dev) {
  return a.index_select(0, t.to(a.device(), at::kLong)).to(dev);
}

// The network's time input: t / T as DMLP computes it (integer tensor / int, so the
// same kernel and rounding as PyTorch on each device). t: (B,) int64 on dev.
at::Tensor time_fraction(const at::Tensor& t, int T) { return t / T; }

// N(0, I) of shape sizes, drawn on gen's device (or dev with the default generator).
at::Tensor normal(at::IntArrayRef sizes, at::ScalarType dtype, const at::Device& dev, const at::Generator& gen) {
  const auto opts = at::TensorOptions().dtype(dtype);
  if (!gen.defined()) return at::randn(sizes, opts.device(dev));
  return at::randn(sizes, gen, opts.device(gen.device())).to(dev);
}

std::string str(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

Schedule Schedule::to(const at::Device& d) const {
  Schedule r = *this;
  for (at::Tensor* a : {&r.beta, &r.alpha, &r.alphabar, &r.sqrtab, &r.sqrtmab, &r.oneover_sqrta, &r.sqrt_beta,
                        &r.mab_over_sqrtmab, &r.loss_weight})
    if (a->defined()) *a = a->to(d);
  return r;
}

Schedule make_schedule(const DiffusionConfig& c) {
  if (c.steps < 1) throw Error("model.diffusion.steps", "must be at least 1, got " + std::to_string(c.steps));
  const int T = c.steps;
  at::Tensor beta;  // (T+1,)
  if (c.schedule == "constant") {
    if (!(c.beta > 0 && c.beta < 1)) throw Error("model.diffusion.beta", "must be in (0, 1), got " + str(c.beta));
    // DMLP: linear(1e-4, 0.02) * 0 + 0.008, i.e. float32(beta) everywhere.
    beta = at::full({T + 1}, c.beta, at::kFloat);
  } else if (c.schedule == "linear") {
    if (!(c.beta_start > 0 && c.beta_start < 1))
      throw Error("model.diffusion.beta_start", "must be in (0, 1), got " + str(c.beta_start));
    if (!(c.beta_end > c.beta_start && c.beta_end < 1))
      throw Error("model.diffusion.beta_end", "must be in (beta_start, 1), got " + str(c.beta_end));
    beta = at::arange(0, T + 1, at::kFloat).mul(c.beta_end - c.beta_start).div(T).add(c.beta_start);
  } else if (c.schedule == "cosine") {
    // alphabar(u) = f(u)/f(0) on u = (t+1)/(T+1), so that alphabar_0 < 1 like the other
    // schedules (the sum starts at t = 0) and alphabar_T is close to 0.
    const double s = 0.008, pi = std::acos(-1.0);
    auto f = [&](double u) {
      const double v = std::cos((u + s) / (1 + s) * pi / 2);
      return v * v;
    };
    std::vector<float> b(T + 1);
    for (int t = 0; t <= T; ++t)
      b[t] = static_cast<float>(std::min(1.0 - f((t + 1.0) / (T + 1)) / f(t / (T + 1.0)), 0.999));
    beta = at::tensor(b, at::kFloat);
  } else {
    throw Error("model.diffusion.schedule",
                "unknown schedule \"" + c.schedule + "\" (expected constant, linear or cosine)");
  }
  Schedule r;
  r.T = T;
  r.beta = beta;
  r.sqrt_beta = at::sqrt(beta);
  r.alpha = 1 - beta;
  r.alphabar = at::cumsum(at::log(r.alpha), 0).exp();
  r.sqrtab = at::sqrt(r.alphabar);
  r.oneover_sqrta = at::reciprocal(at::sqrt(r.alpha));
  const auto mab = 1 - r.alphabar;
  r.sqrtmab = at::sqrt(mab);
  r.mab_over_sqrtmab = (1 - r.alpha) / r.sqrtmab;
  r.loss_weight = 0.5 * beta / (r.alpha * mab);
  return r;
}

DiffusionLoss diffusion_loss_given(NoiseNet& net, const Schedule& s, const at::Tensor& x, const at::Tensor& mu,
                                   const at::Tensor& t, const at::Tensor& eps) {
  check_schedule(s, "diffusion_loss");
  if (x.dim() != 2 || !mu.defined() || mu.sizes() != x.sizes() || !eps.defined() || eps.sizes() != x.sizes() ||
      t.dim() != 1 || t.size(0) != x.size(0))
    throw Error("diffusion_loss", "expected x, mu, eps of shape (B, D) and t of shape (B,)");
  const auto dev = x.device();
  // Gather with t where it is (often the CPU, like the schedule): no device round trip.
  const auto td = t.to(dev, at::kLong);                                                                      // (B,)
  const auto xt = gather(s.sqrtab, t, dev).unsqueeze(1) * x + gather(s.sqrtmab, t, dev).unsqueeze(1) * eps;  // (B, D)
  const auto eps_hat = net.forward(xt, time_fraction(td, s.T));                                              // (B, D)
  auto loss = at::mse_loss(eps, eps_hat, at::Reduction::None).mean(1);                                       // (B,)
  // t == 1: the decoder-side term that ties x_0 to mu. DMLP uses sqrt_beta[1] here, not
  // mab_over_sqrtmab[1]. Always computed (no host sync on mask.any()); where() selects.
  const auto x0 = scal(s.oneover_sqrta, 1, dev) * (xt - scal(s.sqrt_beta, 1, dev) * eps_hat);  // (B, D)
  const auto ratio = scal(s.alpha, 1, dev) / scal(s.beta, 1, dev);                             // 0-dim
  const auto loss1 = ratio * at::mse_loss(mu, x0, at::Reduction::None).mean(1);                // (B,)
  loss = at::where(td == 1, loss1, loss);                                                      // (B,)
  return {loss, gather(s.loss_weight, t, dev), td};
}

DiffusionLoss diffusion_loss(NoiseNet& net, const Schedule& s, const at::Tensor& x, const at::Tensor& mu,
                             at::Generator gen) {
  check_schedule(s, "diffusion_loss");
  if (x.dim() != 2) throw Error("diffusion_loss", "expected x of shape (B, D)");
  at::Tensor t;  // (B,)
  if (gen.defined())
    t = at::randint(1, s.T + 1, {x.size(0)}, gen, at::TensorOptions().dtype(at::kLong).device(gen.device()));
  else
    t = at::randint(1, s.T + 1, {x.size(0)}, at::TensorOptions().dtype(at::kLong));  // CPU, as DMLP
  const auto eps = normal(x.sizes(), x.scalar_type(), x.device(), gen);              // (B, D)
  return diffusion_loss_given(net, s, x, mu, t, eps);
}

at::Tensor joint_loss(const at::Tensor& vae_loss, const at::Tensor& weight, const at::Tensor& ddpm_loss,
                      double alpha_ddpm, int T, const std::string& pairing) {
  if (pairing != "dmlp" && pairing != "per_sample")
    throw Error("model.loss_pairing", "unknown pairing \"" + pairing + "\" (expected dmlp or per_sample)");
  if (!(alpha_ddpm >= 0 && std::isfinite(alpha_ddpm)))
    throw Error("model.alpha_ddpm", "must be finite and >= 0, got " + str(alpha_ddpm));
  if (alpha_ddpm == 0) return vae_loss.mean();
  const auto inv = 1 / (weight.reshape({-1}) * T);  // (B,) 1/(w T)
  // DMLP's weight is (B, 1) against a (B,) loss: the product broadcasts to (B, B) and
  // its mean is mean(1/(wT)) * mean(vae). Computed the same way for identical rounding.
  const auto vae = pairing == "dmlp" ? (inv.unsqueeze(1) * vae_loss.reshape({-1})).mean()  // (B, B) -> ()
                                     : (inv * vae_loss.reshape({-1})).mean();              // (B,) -> ()
  return vae + alpha_ddpm * ddpm_loss.mean();
}

at::Tensor ancestral_step(NoiseNet& net, const Schedule& s, const at::Tensor& x_i, int i, const at::Tensor& noise) {
  check_schedule(s, "ancestral_step");
  if (i < 1 || i > s.T)
    throw Error("ancestral_step", "step " + std::to_string(i) + " outside 1.." + std::to_string(s.T));
  const auto dev = x_i.device();
  // DMLP: torch.tensor(i).float() / n_T, repeated over the batch.
  const auto t_frac =
      at::full({x_i.size(0)}, static_cast<double>(i), at::TensorOptions().dtype(at::kFloat).device(dev)) / s.T;  // (B,)
  const auto eps = net.forward(x_i, t_frac);                                                // (B, D)
  auto x = scal(s.oneover_sqrta, i, dev) * (x_i - eps * scal(s.mab_over_sqrtmab, i, dev));  // (B, D)
  if (noise.defined()) x = x + scal(s.sqrt_beta, i, dev) * noise;
  return x;
}

at::Tensor sample_ancestral(NoiseNet& net, const Schedule& s, int64_t n, int64_t dim, const at::Device& device,
                            at::Generator gen, const StepCallback& cb) {
  check_schedule(s, "sample_ancestral");
  torch::NoGradGuard no_grad;
  auto x = normal({n, dim}, at::kFloat, device, gen);  // (n, dim) x_T
  for (int i = s.T; i >= 1; --i) {
    // Noise is drawn before the network runs, in DMLP's order.
    const auto z = i > 1 ? normal({n, dim}, at::kFloat, device, gen) : at::Tensor();  // (n, dim)
    x = ancestral_step(net, s, x, i, z);                                              // (n, dim) x_{i-1}
    if (cb) cb(i - 1, x);
  }
  return x;
}

at::Tensor sample_ddim(NoiseNet& net, const Schedule& s, int64_t n, int64_t dim, int steps, const at::Device& device,
                       at::Generator gen, const StepCallback& cb) {
  check_schedule(s, "sample_ddim");
  if (steps < 1) throw Error("sample.steps", "must be at least 1, got " + std::to_string(steps));
  steps = std::min(steps, s.T);
  torch::NoGradGuard no_grad;
  // Coefficients on the host in double: one small copy instead of a sync per step.
  const auto ab = s.alphabar.to(at::kCPU, at::kDouble).contiguous();
  const double* abar = ab.data_ptr<double>();
  const auto opts = at::TensorOptions().dtype(at::kFloat).device(device);
  auto x = normal({n, dim}, at::kFloat, device, gen);  // (n, dim) x_T, the same draw as ancestral
  for (int j = steps; j >= 1; --j) {
    const int t = static_cast<int>(int64_t(j) * s.T / steps);
    const int tp = static_cast<int>(int64_t(j - 1) * s.T / steps);
    const auto eps = net.forward(x, at::full({n}, static_cast<double>(t), opts) / s.T);  // (n, dim)
    const double ab_t = abar[t], ab_p = tp > 0 ? abar[tp] : 1.0;
    const auto x0 = (x - std::sqrt(1 - ab_t) * eps) / std::sqrt(ab_t);   // (n, dim)
    x = tp > 0 ? std::sqrt(ab_p) * x0 + std::sqrt(1 - ab_p) * eps : x0;  // (n, dim)
    if (cb) cb(tp, x);
  }
  return x;
}

}  // namespace latent
