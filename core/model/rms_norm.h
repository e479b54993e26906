// RMS normalisation as T5 and Llama define it: x / sqrt(mean(x^2) + eps) * weight, no mean,
// no bias, computed in fp32 and cast back (T5LayerNorm, LlamaRMSNorm).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <ATen/ATen.h>

namespace latent {

// The same in one pass over each row, for an fp32 CPU x without autograd (decoding: the
// composite below is six operations, each with its own dispatch and allocation). Sums in
// double. Empty tensor when x or weight does not qualify.
at::Tensor rms_norm_rows(const at::Tensor& x, const at::Tensor& weight, double eps);

struct RmsNormImpl : torch::nn::Module {
  RmsNormImpl(int64_t hidden, double eps) : eps(eps) { weight = register_parameter("weight", at::ones({hidden})); }
  at::Tensor forward(const at::Tensor& x) {
    if (auto y = rms_norm_rows(x, weight, eps); y.defined()) return y;
    const auto f = x.to(at::kFloat);
    return weight * (f * at::rsqrt(f.pow(2).mean(-1, /*keepdim=*/true) + eps)).to(x.scalar_type());
  }
  double eps;
  at::Tensor weight;
};
TORCH_MODULE(RmsNorm);

}  // namespace latent
