// What T5's encoder and decoder families share (model/families/t5_encoder.cpp, t5_decoder.cpp):
// the relative-position buckets and the feed-forward layer, as transformers' modeling_t5 has them.
#pragma once

#include <torch/torch.h>

#include <string>

#include "model/module_util.h"
#include "model/rms_norm.h"

namespace latent {

// T5Attention._relative_position_bucket: rel = key position - query position (int64).
// Bidirectional (the encoder): half the buckets for keys after the query. Unidirectional (the
// decoder): only keys before the query count, by their distance.
inline at::Tensor t5_relative_bucket(at::Tensor rel, bool bidirectional, int64_t num_buckets, int64_t max_distance) {
  at::Tensor buckets = at::zeros_like(rel);
  if (bidirectional) {
    num_buckets /= 2;
    buckets = rel.gt(0).to(at::kLong) * num_buckets;
    rel = rel.abs();
  } else {
    rel = -at::clamp_max(rel, 0);
  }
  const int64_t exact = num_buckets / 2;
  auto large = exact + (at::log(rel.to(at::kFloat).clamp_min(1) / static_cast<double>(exact)) /
                        std::log(static_cast<double>(max_distance) / static_cast<double>(exact)) *
                        static_cast<double>(num_buckets - exact)).to(at::kLong);
  large = at::clamp_max(large, num_buckets - 1);
  return buckets + at::where(rel.lt(exact), rel, large);
}

// T5LayerFF: x + dropout(DenseReluDense(layer_norm(x))), DenseReluDense being wi -> ReLU -> wo
// ("relu") or gelu_new(wi_0) * wi_1 -> wo ("gated-gelu"); no biases. Names under its place
// ("layer.1."): layer_norm, DenseReluDense.{wi | wi_0, wi_1}, DenseReluDense.wo.
struct T5FeedForwardImpl : torch::nn::Module {
  T5FeedForwardImpl(int64_t hidden, int64_t inner, const std::string& activation, double eps, double dropout)
      : gated(activation == "gated-gelu") {
    auto lin = [](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)); };
    if (gated) {
      wi0 = register_at(*this, "DenseReluDense.wi_0", lin(hidden, inner));
      wi1 = register_at(*this, "DenseReluDense.wi_1", lin(hidden, inner));
    } else {
      wi0 = register_at(*this, "DenseReluDense.wi", lin(hidden, inner));
    }
    wo = register_at(*this, "DenseReluDense.wo", lin(inner, hidden));
    layer_norm = register_module("layer_norm", RmsNorm(hidden, eps));
    drop = register_module("dropout", torch::nn::Dropout(dropout));
  }
  at::Tensor forward(const at::Tensor& x) {
    const auto m = layer_norm(x);
    const auto ff = gated ? at::gelu(wi0(m), "tanh") * wi1(m) : at::relu(wi0(m));
    return x + drop(wo(drop(ff)));
  }
  bool gated;
  torch::nn::Linear wi0{nullptr}, wi1{nullptr}, wo{nullptr};
  RmsNorm layer_norm{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(T5FeedForward);

}  // namespace latent
