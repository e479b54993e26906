// Regularisers that pull the aggregate posterior towards N(0, I), as the systems beside
// DMLP use them (ModelConfig::regularizer):
//   mmd          t5-vae (Fraser Greenlee's t5-vae-flax / transformer-vae): the maximum mean
//                discrepancy between the batch's latents and as many N(0, I) samples, with
//                k(x, y) = exp(-mean_i (x_i - y_i)^2 / dim), the biased estimate (diagonals
//                included), divided by the batch size and multiplied by the latent tokens.
//   adversarial  DAVAE (Fengshenbang-LM): a discriminator Linear(D, 4D) -> ReLU ->
//                Linear(4D, 1) learns to tell N(0, I) samples (1) from latents (0); the
//                encoder is trained to make its latents look like samples (BCE with 1).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

namespace latent {

// k(x, y) for every pair: x (N, D), y (M, D) -> (N, M).
at::Tensor mmd_kernel(const at::Tensor& x, const at::Tensor& y);
// mean k(x, x) + mean k(y, y) - 2 mean k(x, y).
at::Tensor mmd(const at::Tensor& x, const at::Tensor& y);
// t5-vae's loss on latents z (B, D) (or (B, n, d): n latent tokens, reshaped to (B n, d)):
// mmd(z, N(0, I) samples) / B * n.
at::Tensor mmd_loss(const at::Tensor& z, at::Generator gen);

struct DiscriminatorImpl : torch::nn::Module {
  explicit DiscriminatorImpl(int latent_dim);
  at::Tensor forward(const at::Tensor& z);  // logits (B, 1)
  // The same network with its weights detached: the encoder's adversarial term must not
  // move the discriminator.
  at::Tensor forward_frozen(const at::Tensor& z);
  torch::nn::Linear hidden{nullptr}, out{nullptr};
};
TORCH_MODULE(Discriminator);

struct AdversarialLoss {
  at::Tensor discriminator;  // BCE(D(z.detach()), 0) + BCE(D(n), 1): trains D only
  at::Tensor encoder;        // BCE(D(z), 1) through D's detached weights: trains the encoder only
};
AdversarialLoss adversarial_loss(DiscriminatorImpl& d, const at::Tensor& z, at::Generator gen);

}  // namespace latent
