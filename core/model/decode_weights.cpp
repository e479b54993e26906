#include "model/decode_weights.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>

#include "model/block_weights.h"
#include "model/few_row_linear.h"

namespace latent {

void DecodeWeights::set_mode(const std::string& cpu_decode_weights) {
  mode_ = cpu_decode_weights == "float16" ? Mode::Float16 : cpu_decode_weights == "gguf-blocks" ? Mode::Blocks : Mode::Float32;
}

DecodeWeights::Copy& DecodeWeights::copy_of(const at::Tensor& weight, bool want_blocks, bool want_half) {
  Copy& c = copies_[weight.unsafeGetTensorImpl()];
  // An inference tensor (made under InferenceMode) has no version counter; it can change in
  // place only inside inference mode, which decoding does not do to its weights.
  const int64_t version = weight.is_inference() ? -2 : weight._version();
  if (c.data != weight.data_ptr() || c.version != version) {
    c = Copy{};
    c.data = weight.data_ptr();
    c.version = version;
  }
  c10::InferenceMode normal(false);  // ordinary tensors, usable in and out of inference mode
  if (want_blocks && !c.blocks_checked) {
    if (auto b = exact_blocks(weight)) c.blocks = std::make_shared<const BlockMatrix>(std::move(*b));
    c.blocks_checked = true;
  }
  if (want_half && !c.blocks && !c.half.defined()) c.half = weight.detach().to(at::kHalf).contiguous();
  return c;
}

at::Tensor DecodeWeights::linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const int64_t rows = x.dim() >= 1 && x.size(-1) > 0 ? x.numel() / x.size(-1) : 0;
  const bool blocks_ok = mode_ == Mode::Blocks && rows <= kMaxBlockRows, half_ok = rows <= kMaxHalfRows;
  if (mode_ == Mode::Float32 || rows == 0 || !(blocks_ok || half_ok) || !x.device().is_cpu() ||
      x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat || at::GradMode::is_enabled())
    return fp32_linear(x, weight, bias);
  std::shared_ptr<const BlockMatrix> blocks;
  at::Tensor half;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const Copy& c = copy_of(weight, blocks_ok, half_ok);
    if (blocks_ok) blocks = c.blocks;
    half = c.half;
  }
  at::Tensor y;
  if (blocks) {
    std::vector<int64_t> sizes = x.sizes().vec();
    sizes.back() = blocks->rows;
    y = block_linear(x.reshape({rows, x.size(-1)}), *blocks).view(sizes);
  } else if (half_ok && half.defined()) {
    y = at::linear(x.to(at::kHalf), half).to(at::kFloat);
    if (!y.isfinite().all().item<bool>()) y = at::matmul(x, weight.t());
  } else {
    return fp32_linear(x, weight, bias);
  }
  return bias.defined() ? y + bias : y;
}

at::Tensor DecodeWeights::fp32_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (x.dim() < 1 || x.size(-1) == 0) return at::linear(x, weight, bias);
  const at::Tensor x2 = x.reshape({-1, x.size(-1)});
  if (!few_row_linear_serves(x2, {weight})) return at::linear(x, weight, bias);
  std::vector<int64_t> sizes = x.sizes().vec();
  sizes.back() = weight.size(0);
  const at::Tensor y = few_row_linear_many(x2, {weight})[0].view(sizes);
  return bias.defined() ? y + bias : y;
}

std::vector<at::Tensor> DecodeWeights::linear_many(const at::Tensor& x, const std::vector<at::Tensor>& weights) {
  const int64_t rows = x.dim() >= 1 && x.size(-1) > 0 ? x.numel() / x.size(-1) : 0;
  std::vector<const BlockMatrix*> ptrs;
  std::vector<std::shared_ptr<const BlockMatrix>> held;  // alive while the product runs
  if (mode_ == Mode::Blocks && rows > 0 && rows <= kMaxBlockRows && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
      !at::GradMode::is_enabled()) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const at::Tensor& w : weights) {
      if (w.scalar_type() != at::kFloat || !w.device().is_cpu()) break;
      const Copy& c = copy_of(w, /*want_blocks=*/true, rows <= kMaxHalfRows);
      if (!c.blocks) break;
      held.push_back(c.blocks);
      ptrs.push_back(c.blocks.get());
    }
  }
  std::vector<at::Tensor> out;
  if (!weights.empty() && ptrs.size() == weights.size()) {
    out = block_linear_many(x.reshape({rows, x.size(-1)}), ptrs);
    for (at::Tensor& y : out) {
      std::vector<int64_t> sizes = x.sizes().vec();
      sizes.back() = y.size(1);
      y = y.view(sizes);
    }
    return out;
  }
  if (mode_ == Mode::Float32 && !weights.empty() && rows > 0) {
    const at::Tensor x2 = x.reshape({rows, x.size(-1)});
    if (few_row_linear_serves(x2, weights)) {
      out = few_row_linear_many(x2, weights);
      for (at::Tensor& y : out) {
        std::vector<int64_t> sizes = x.sizes().vec();
        sizes.back() = y.size(1);
        y = y.view(sizes);
      }
      return out;
    }
  }
  for (const at::Tensor& w : weights) out.push_back(linear(x, w));
  return out;
}

std::string DecodeWeights::reading(const at::Tensor& weight, int64_t rows) {
  const bool blocks_ok = mode_ == Mode::Blocks && rows <= kMaxBlockRows, half_ok = rows <= kMaxHalfRows;
  if (mode_ == Mode::Float32 || rows <= 0 || !(blocks_ok || half_ok) || !weight.device().is_cpu() ||
      weight.scalar_type() != at::kFloat || at::GradMode::is_enabled())
    return "float32";
  std::lock_guard<std::mutex> lock(mutex_);
  const Copy& c = copy_of(weight, blocks_ok, half_ok);
  if (blocks_ok && c.blocks) return format_name(c.blocks->format);
  return half_ok ? "float16" : "float32";
}

}  // namespace latent
