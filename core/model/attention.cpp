#include "model/attention.h"

#include <ATen/ATen.h>

#include <atomic>
#include <cmath>

namespace latent {
namespace {
std::atomic<bool> g_reference{false};
}

void set_reference_attention(bool on) { g_reference = on; }

at::Tensor attend_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
  auto scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));  // (B, h, Lq, Lk)
  if (mask.defined()) scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  return at::matmul(at::softmax(scores, -1), v);
}

at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask, double dropout_p) {
  if (g_reference.load(std::memory_order_relaxed)) return attend_reference(q, k, v, mask);
  return at::scaled_dot_product_attention(q, k, v, mask.defined() ? std::optional<at::Tensor>(mask) : std::nullopt,
                                          dropout_p, /*is_causal=*/false);
}

at::Tensor causal_mask(int64_t lq, int64_t lk, const at::Device& device) {
  const auto opts = at::TensorOptions().dtype(at::kLong).device(device);
  const auto qi = at::arange(lq, opts).unsqueeze(1) + (lk - lq);  // (Lq, 1)
  const auto kj = at::arange(lk, opts).unsqueeze(0);              // (1, Lk)
  return kj.le(qi);
}

at::Tensor split_heads(const at::Tensor& x, int64_t heads) {
  const auto B = x.size(0), L = x.size(1), H = x.size(2);
  return x.view({B, L, heads, H / heads}).transpose(1, 2);
}

at::Tensor merge_heads(const at::Tensor& x) {
  const auto B = x.size(0), h = x.size(1), L = x.size(2), d = x.size(3);
  return x.transpose(1, 2).reshape({B, L, h * d});
}

}  // namespace latent
