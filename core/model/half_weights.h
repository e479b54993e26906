// fp16 copies of linear weights for few-row decoding on the CPU
// (decoder.cpu_decode_weights "float16").
//
// Decoding one sentence reads every weight once per token: SmolLM2-135M's 538 MB in fp32,
// memory-bound on a CPU. Read in fp16, the same product reads half the bytes. On the 2-core
// VM, a loop of F.linear over SmolLM2's matrices took 25 ms per token from fp16 weights
// against 81 ms from fp32 (1 row), 71 against 139 (4 rows), 129 against 120 (8 rows): fp16
// pays off only for a few rows, so larger calls (batched evaluation, interpolation's 10
// points, training) keep fp32. Weights stay fp32 parameters; the copies follow them (they
// are made again when a weight's storage or version changes) and are never saved.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace latent {

class HalfWeights {
 public:
  static constexpr int64_t kMaxRows = 4;

  // x (..., in) W^T + b. With the copies enabled, x an fp32 CPU tensor of at most kMaxRows
  // rows and autograd off, W is read from its fp16 copy (input rounded to fp16, products
  // accumulated in fp32, the output rounded to fp16, returned as fp32); a result that is not
  // finite in fp16 (beyond 65,504) is computed again in fp32. Otherwise plain fp32.
  at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

  void set_enabled(bool on) { enabled_ = on; }

 private:
  struct Copy {
    at::Tensor half;
    const void* data = nullptr;
    int64_t version = -1;
  };
  const at::Tensor& copy_of(const at::Tensor& weight);

  bool enabled_ = false;
  std::mutex mutex_;  // the copies; one decoder may be used from more than one thread
  std::unordered_map<const void*, Copy> copies_;  // by the weight's TensorImpl
};

}  // namespace latent
