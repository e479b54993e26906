// Noise networks (eps_model of spec section 5): given a noisy latent x_t and the time
// fraction t/T they predict the noise eps that produced x_t. Three architectures, with
// DMLP's module and parameter names so DMLP checkpoints convert key by key:
//
// mlp_skip (DMLP's MLPSkipNet), L = layers, last = L-1:
//   time_embed.{0,2}.{weight,bias}            Linear(64, D), SiLU, Linear(D, D)
//   layers.i.linear.{weight,bias}             i = 0: Linear(D, hidden); 0 < i < last: Linear(hidden+D, hidden)
//   layers.i.linear_emb.{weight,bias}         i < last: Linear(D, hidden) on SiLU(cond)
//   layers.i.norm.{weight,bias}               i < last: LayerNorm(hidden, eps 1e-5)
//   layers.last.linear.{weight,bias}          Linear(hidden+D, D), no norm, no activation
//   DMLP's state_dict also lists layers.i.cond_layers.1.* : the same tensor as linear_emb
//   (its cond_layers = Sequential(SiLU, linear_emb)); a converter keeps one of the two.
//
// transformer (DMLP's TransformerNet), N = layers, E = hidden (DMLP 512), 4 tokens:
//   time_embed.{0,2}.*, linear_1.* (D -> 4E), linear_2.* (4E -> D),
//   transformer_encoder.layers.n.self_attn.{in_proj_weight,in_proj_bias,out_proj.weight,out_proj.bias}
//   transformer_encoder.layers.n.{linear1,linear2,norm1,norm2}.*   (FFN 4E, ReLU, post-LN)
//   With n > 1 latent tokens (model.latent_tokens), the transformer sees them: its tokens are
//   the latent's n tokens, linear_1 (D/n -> E) and linear_2 (E -> D/n) apply to each, and
//   slot_embed (n, E) tells them apart.
//
// linear (DMLP's LinearModel):
//   timeembed.lin1.weight (Linear(1, D, bias=false)), timeembed.lin2.* (Linear(D, D)),
//   linear.0.0.* (D -> 2D), linear.1.0.* (2D -> D), linear.2.* (D -> D)
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <memory>

#include "model/config.h"

namespace latent {

struct NoiseNet : torch::nn::Module {
  // x: (B, D) noisy latents; t_frac: (B,) float, t / T. Returns eps_hat (B, D).
  virtual at::Tensor forward(const at::Tensor& x, const at::Tensor& t_frac) = 0;
};

// c.type: "mlp_skip" | "transformer" | "linear". Throws latent::Error naming the key
// ("model.noise_net.type", ".layers", ".hidden", ".heads", ".dropout") for bad values.
// Sizes come from c (MLPSkipNet: layers x hidden, DMLP 20 x 2048; TransformerNet: layers
// of width hidden with heads, DMLP 12 x 512 x 8); LinearModel only uses latent_dim.
std::shared_ptr<NoiseNet> make_noise_net(const NoiseNetConfig& c, LatentShape latent);

// Sinusoidal features of t_frac (B,) -> (B, dim): [cos(t f_k), sin(t f_k)], f_k =
// exp(-ln(10000) k / (dim/2)), k < dim/2; a zero column is appended when dim is odd.
// float32 on t_frac's device (DMLP's timestep_embedding, fed with t/T).
at::Tensor timestep_embedding(const at::Tensor& t_frac, int dim = 64);

}  // namespace latent
