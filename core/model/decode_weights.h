// How few-row decoding on the CPU reads the linear weights (decoder.cpu_decode_weights).
//
// Decoding one sentence reads every weight once per token: SmolLM2-135M's 538 MB in fp32,
// memory-bound on a CPU. Two lighter readings of the same products:
// - "float16": fp16 copies, half the bytes. On the 2-core VM, a loop of F.linear over
//   SmolLM2's matrices took 25 ms per token from fp16 weights against 81 ms from fp32 (1 row),
//   71 against 139 (4 rows), 129 against 120 (8 rows): fp16 pays off only for a few rows, so
//   it serves calls of at most 4 rows.
// - "gguf-blocks": a weight whose every value is a GGUF Q4_1 or Q8_0 block value (a model
//   converted from a quantized GGUF: model/block_weights.h) is read as those blocks, lossless,
//   in calls of at most 16 rows (interpolation's 10 points included); other weights (trained
//   ones, a fresh extra block) as in "float16".
// fp32 weights in calls of at most 16 rows (every mode: "float32", and what the others read in
// fp32) go through model/few_row_linear.h (SmolLM2's one-row fp32 greedy decoding: 14.9 ->
// 23-24 tokens/s with it and core/'s OpenMP, docs/PERFORMANCE.md). Larger calls (batched
// evaluation, training) and calls with autograd on are at::linear. Weights
// stay fp32 parameters; the copies follow them (made again when a weight's storage or
// version changes) and are never saved.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace latent {

struct BlockMatrix;

class DecodeWeights {
 public:
  static constexpr int64_t kMaxHalfRows = 4;
  static constexpr int64_t kMaxBlockRows = 16;

  // From decoder.cpu_decode_weights: "float32" (off), "float16" or "gguf-blocks".
  void set_mode(const std::string& cpu_decode_weights);

  // x (..., in) W^T + b. x fp32 on the CPU with autograd off: W read from its blocks (at most
  // kMaxBlockRows rows of x, mode gguf-blocks, W exact blocks) or from its fp16 copy (at most
  // kMaxHalfRows rows; input rounded to fp16, products accumulated in fp32, the output rounded
  // to fp16, returned as fp32; a result beyond fp16's range is computed again in fp32).
  // Otherwise fp32 (fp32_linear).
  at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

  // linear(x, W_i) for weights that share an input (q, k, v; gate, up), no biases: when all
  // are read as blocks, in one pass (model/block_weights.h); otherwise one linear() each.
  std::vector<at::Tensor> linear_many(const at::Tensor& x, const std::vector<at::Tensor>& weights);

  // How a call of `rows` rows reads `weight` now: "float32", "float16", "q4_1" or "q8_0".
  std::string reading(const at::Tensor& weight, int64_t rows);

 private:
  // x W^T + b in fp32: few_row_linear when it serves (model/few_row_linear.h), else at::linear.
  static at::Tensor fp32_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

  enum class Mode { Float32, Float16, Blocks };
  struct Copy {
    at::Tensor half;
    std::shared_ptr<const BlockMatrix> blocks;  // null when the weight is not exact blocks
    bool blocks_checked = false;
    const void* data = nullptr;
    int64_t version = -1;
  };
  Copy& copy_of(const at::Tensor& weight, bool want_blocks, bool want_half);

  Mode mode_ = Mode::Float32;
  std::mutex mutex_;  // the copies; one decoder may be used from more than one thread
  std::unordered_map<const void*, Copy> copies_;  // by the weight's TensorImpl
};

}  // namespace latent
