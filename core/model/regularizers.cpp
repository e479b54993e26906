#include "model/regularizers.h"

#include <torch/torch.h>

namespace latent {

at::Tensor mmd_kernel(const at::Tensor& x, const at::Tensor& y) {
  const int64_t dim = x.size(1);
  const auto diff = x.unsqueeze(1) - y.unsqueeze(0);  // (N, M, D)
  return at::exp(-diff.pow(2).mean(2) / static_cast<double>(dim));
}

at::Tensor mmd(const at::Tensor& x, const at::Tensor& y) {
  return mmd_kernel(x, x).mean() + mmd_kernel(y, y).mean() - 2 * mmd_kernel(x, y).mean();
}

at::Tensor mmd_loss(const at::Tensor& z, at::Generator gen) {
  const int64_t batch = z.size(0);
  const int64_t tokens = z.dim() == 3 ? z.size(1) : 1;
  const auto flat = z.reshape({batch * tokens, z.size(-1)});
  const auto prior = gen.defined() ? at::randn(flat.sizes(), gen, flat.options()) : at::randn(flat.sizes(), flat.options());
  return mmd(flat, prior) / static_cast<double>(batch) * static_cast<double>(tokens);
}

DiscriminatorImpl::DiscriminatorImpl(int latent_dim) {
  hidden = register_module("hidden", torch::nn::Linear(latent_dim, 4 * latent_dim));
  out = register_module("out", torch::nn::Linear(4 * latent_dim, 1));
}

at::Tensor DiscriminatorImpl::forward(const at::Tensor& z) { return out->forward(at::relu(hidden->forward(z))); }

at::Tensor DiscriminatorImpl::forward_frozen(const at::Tensor& z) {
  const auto h = at::relu(at::linear(z, hidden->weight.detach(), hidden->bias.detach()));
  return at::linear(h, out->weight.detach(), out->bias.detach());
}

AdversarialLoss adversarial_loss(DiscriminatorImpl& d, const at::Tensor& z, at::Generator gen) {
  const auto prior = gen.defined() ? at::randn(z.sizes(), gen, z.options()) : at::randn(z.sizes(), z.options());
  auto bce = [](const at::Tensor& logits, double target) {
    return at::binary_cross_entropy_with_logits(logits, at::full_like(logits, target));
  };
  AdversarialLoss l;
  l.discriminator = bce(d.forward(z.detach()), 0.0) + bce(d.forward(prior), 1.0);
  l.encoder = bce(d.forward_frozen(z), 1.0);
  return l;
}

}  // namespace latent
