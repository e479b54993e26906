// fp32 products for a few rows at a time: x W^T when x has at most a handful of rows, as in
// decoding one or a few sentences a token at a time.
//
// Such a product reads every weight once and does one multiply-add with it per row of x: it is
// bound by memory bandwidth, and at::linear (MKL, in the pip LibTorch) reads SmolLM2's head
// at one row at about 9 GB/s on the 2-core VM, where a plain sum reads 21 GB/s. Here each
// output is a dot product of one weight row with the rows of x, eight lanes at a time with
// FMA, the output rows split across threads; SmolLM2's greedy decoding at one row became 2.5x
// transformers' (docs/PERFORMANCE.md, "fp32 few-row products"). The weights and the sums stay
// fp32; only the order of the sums differs from at::linear's. CPUs without AVX2 + FMA get
// at::linear.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace latent {

// Whether few_row_linear_many serves x and these weights: x fp32 (n, in) with 1 <= n <= 16 on
// the CPU, weights fp32 (out, in) contiguous on the CPU, autograd off, an AVX2 + FMA CPU.
bool few_row_linear_serves(const at::Tensor& x, const std::vector<at::Tensor>& weights);

// x (n, in) -> one (n, out_i) per weight: x W_i^T, all in one parallel pass over the output
// rows. Throws c10::Error when few_row_linear_serves is false.
std::vector<at::Tensor> few_row_linear_many(const at::Tensor& x, const std::vector<at::Tensor>& weights);

}  // namespace latent
