// Multi-head attention kernels shared by the encoder and the decoder.
#pragma once

#include <ATen/core/Tensor.h>

namespace latent {

// q (B, h, Lq, d), k/v (B, h, Lk, d); mask: bool, broadcastable to (B, h, Lq, Lk),
// true = may attend (undefined = attend everywhere). Uses at::scaled_dot_product_attention
// (flash / memory-efficient kernels on CUDA) unless the reference path is selected.
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                  double dropout_p);

// Plain matmul-softmax attention, the reference the fused path is tested against.
at::Tensor attend_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask);

// Process-wide switch for tests and benchmarks (default: fused).
void set_reference_attention(bool on);

// (Lq, Lk) bool mask for Lq new queries after Lk - Lq earlier keys (a KV cache or the
// latent memory slot): query i may see keys 0 .. Lk - Lq + i ("lower-right" causal).
at::Tensor causal_mask(int64_t lq, int64_t lk, const at::Device& device);

// (B, h, L, d) <-> (B, L, h*d)
at::Tensor split_heads(const at::Tensor& x, int64_t heads);
at::Tensor merge_heads(const at::Tensor& x);

}  // namespace latent
