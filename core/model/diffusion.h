// Diffusion over latents (spec section 4): the noise schedule, the training loss of the
// noise network, the joint VAE + DDPM loss, and two samplers (DMLP's ancestral one, the
// reference, and a deterministic DDIM with fewer steps).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <string>

#include "model/config.h"
#include "model/noise_nets.h"

namespace latent {

// Every array has length T+1, indexed t = 0..T, float32. Computed on the CPU; the
// functions below accept a schedule on the CPU or on the data's device (to() once).
struct Schedule {
  int T = 0;
  at::Tensor beta, alpha, alphabar;  // alphabar_t = prod_{s<=t} alpha_s (alphabar_0 = alpha_0, as DMLP)
  at::Tensor sqrtab, sqrtmab;        // sqrt(alphabar), sqrt(1 - alphabar)
  at::Tensor oneover_sqrta, sqrt_beta, mab_over_sqrtmab;  // 1/sqrt(alpha), sqrt(beta), (1 - alpha)/sqrtmab
  at::Tensor loss_weight;                                 // 0.5 beta / (alpha (1 - alphabar))
  Schedule to(const at::Device& d) const;
};

// c.schedule: "constant" (DMLP: beta_t = c.beta for every t), "linear" (c.beta_start ..
// c.beta_end over t = 0..T, DMLP's formula before its override), "cosine" (Nichol &
// Dhariwal with s = 0.008 on u = t/(T+1), so beta_0 > 0; beta clipped to 0.999).
// Computed in float32 like DMLP: alphabar = exp(cumsum(log alpha)). Throws latent::Error
// naming model.diffusion.{schedule,steps,beta,beta_start,beta_end}.
Schedule make_schedule(const DiffusionConfig& c);

struct DiffusionLoss {
  at::Tensor loss;    // (B,) ddpm loss per sample
  at::Tensor weight;  // (B,) loss_weight[t]
  at::Tensor t;       // (B,) int64, in 1..T
};

// Training loss of spec section 4, steps 1-6. x: (B, D) latents z (not detached: the
// loss reaches the encoder through x); mu: (B, D) posterior means (used by t == 1).
// Draws t ~ U{1..T} (B,), then eps ~ N(0, I) (B, D), both from gen (on gen's device,
// then moved to x's); an undefined gen means the default generators (t on the CPU as
// DMLP, eps on x's device). Results are on x's device.
DiffusionLoss diffusion_loss(NoiseNet& net, const Schedule& s, const at::Tensor& x, const at::Tensor& mu,
                             at::Generator gen = {});
// Same with given t (B,) int64 in 1..T and eps (B, D).
DiffusionLoss diffusion_loss_given(NoiseNet& net, const Schedule& s, const at::Tensor& x, const at::Tensor& mu,
                                   const at::Tensor& t, const at::Tensor& eps);

// Joint loss (scalar). alpha_ddpm > 0: pairing "dmlp" = mean(1/(w T)) * mean(vae_loss)
// + alpha * mean(ddpm), computed as DMLP's (B,1) x (B,) broadcast mean; "per_sample" =
// mean(vae_loss / (w T)) + alpha * mean(ddpm). alpha_ddpm == 0: mean(vae_loss) (weight
// and ddpm_loss may then be undefined). Throws latent::Error naming model.loss_pairing
// or model.alpha_ddpm.
at::Tensor joint_loss(const at::Tensor& vae_loss, const at::Tensor& weight, const at::Tensor& ddpm_loss,
                      double alpha_ddpm, int T, const std::string& pairing);

// One ancestral step x_i -> x_{i-1}, i in 1..T, x_i: (B, D):
// oneover_sqrta[i] * (x_i - mab_over_sqrtmab[i] * eps_hat) + sqrt_beta[i] * noise.
// An undefined noise means no noise term (DMLP's i == 1). Runs under the caller's grad mode.
at::Tensor ancestral_step(NoiseNet& net, const Schedule& s, const at::Tensor& x_i, int i, const at::Tensor& noise);

// step: the index i just produced (ancestral: T-1 .. 0; DDIM: the next timestep, ending
// at 0). x: (B, D), a new tensor every step that is never written afterwards (keep it freely).
using StepCallback = std::function<void(int step, const at::Tensor& x)>;

// Samplers. Both run without autograd and leave the net's mode alone: call net.eval()
// first (TransformerNet has dropout). Random draws come from gen (undefined = the
// default generator of `device`) on gen's device and are moved to `device`; x_T is
// the first draw, randn({n, dim}), so both samplers start from the same x_T for the
// same generator state.

// DMLP's ancestral sampler: x_T ~ N(0, I), then i = T .. 1 with fresh noise when i > 1.
// Returns x_0 (n, dim), a latent z for the decoder. cb is called T times.
at::Tensor sample_ancestral(NoiseNet& net, const Schedule& s, int64_t n, int64_t dim, const at::Device& device,
                            at::Generator gen, const StepCallback& cb = {});

// Deterministic DDIM (eta = 0) visiting t_j = floor(j * T / steps) for j = steps .. 1
// (t_steps = T) and landing on t_0 = 0, where the latent is the clean one (alphabar
// taken as 1 there, i.e. the last step returns the predicted x_0). Each step from t to
// t' uses x0_hat = (x - sqrtmab[t] eps_hat) / sqrtab[t], x' = sqrt(ab') x0_hat +
// sqrt(1 - ab') eps_hat. cb is called `steps` times with t_{j-1}. steps in 1..T,
// larger values are clamped to T; smaller ones throw latent::Error("sample.steps").
at::Tensor sample_ddim(NoiseNet& net, const Schedule& s, int64_t n, int64_t dim, int steps, const at::Device& device,
                       at::Generator gen, const StepCallback& cb = {});

}  // namespace latent
