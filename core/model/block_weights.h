// Weights that are exactly GGUF blocks, read in that form (decoder.cpu_decode_weights
// "gguf-blocks").
//
// A model converted from a quantized GGUF (tools/llama/gguf_to_hf.py) holds fp32 weights that
// are exactly the dequantized blocks: SmolLM2-135M-Instruct's linear weights are Q4_1 (each
// run of 32 along a row is d * q + m, q in 0..15, d and m fp16) and its head Q8_0 (d * q, q in
// -127..127). Found again from the fp32 values, the blocks are the same weights in 0.75 and
// 1.125 bytes a weight (the scales kept as fp32) instead of 4: reading them is lossless, only
// the order of the fp32 sums changes. A matrix is taken as blocks only when every value of it
// is reproduced bit for bit; anything else (a trained or random weight) is not.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace latent {

struct BlockMatrix {
  enum class Format { Q4_1, Q8_0 };
  static constexpr int64_t kBlock = 32;

  Format format = Format::Q4_1;
  int64_t rows = 0, cols = 0;  // the weight (out, in); blocks run along a row
  // Q4_1: 16 bytes a block, byte j = q[j] | q[j + 16] << 4 (GGUF's order); Q8_0: 32 int8 a block.
  std::vector<uint8_t> q;
  std::vector<float> scale;   // d, rows * cols / 32
  std::vector<float> offset;  // m (Q4_1 only)
};

const char* format_name(BlockMatrix::Format f);

// The weight (rows, cols), fp32 on the CPU, as Q4_1 blocks when every value is one, else as
// Q8_0 blocks when every value is one, else nullopt (also for cols not a multiple of 32 or a
// value that is not finite).
std::optional<BlockMatrix> exact_blocks(const at::Tensor& weight);

// x (n, cols) fp32 on the CPU -> (n, rows) fp32: x W^T, W read from its blocks (AVX2 + FMA
// when the CPU has them, else plain loops; plain = true takes the loops, for tests). Summed
// per block, then across blocks, in fp32.
at::Tensor block_linear(const at::Tensor& x, const BlockMatrix& w, bool plain = false);
// The same for several matrices with the same input (q, k and v; gate and up): one parallel
// pass, one output each.
std::vector<at::Tensor> block_linear_many(const at::Tensor& x, const std::vector<const BlockMatrix*>& ws, bool plain = false);

}  // namespace latent
