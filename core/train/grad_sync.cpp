#include "train/grad_sync.h"

#include <torch/torch.h>

#include "train/distributed.h"

namespace latent {

GradSync::GradSync(ProcessGroup& pg, std::vector<at::Tensor> params, int64_t bucket_bytes)
    : pg_(pg), params_(std::move(params)), slots_(params_.size()) {
  // Reverse order: the last layers' gradients come first in backward.
  std::vector<int64_t> numel;
  int64_t bytes = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const at::Tensor& p = params_[k];
    const bool new_bucket = buckets_.empty() || bytes + static_cast<int64_t>(p.nbytes()) > bucket_bytes ||
                            buckets_.back().flat.scalar_type() != p.scalar_type();
    if (new_bucket) {
      buckets_.emplace_back();
      buckets_.back().flat = at::empty({0}, p.options());  // dtype and device; sized below
      numel.push_back(0);
      bytes = 0;
    }
    slots_[k] = {buckets_.size() - 1, numel.back(), false};
    numel.back() += p.numel();
    bytes += static_cast<int64_t>(p.nbytes());
    ++buckets_.back().size;
  }
  for (size_t b = 0; b < buckets_.size(); ++b) buckets_[b].flat = at::zeros({numel[b]}, buckets_[b].flat.options());
  for (size_t k = 0; k < params_.size(); ++k)
    hooks_.push_back(params_[k].register_hook([this, k](const at::Tensor& grad) {
      if (armed_) fill(k, grad);
      return grad;  // autograd still accumulates it; finish() overwrites .grad with the sum
    }));
}

GradSync::~GradSync() {
  for (size_t k = 0; k < params_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

void GradSync::arm() {
  for (auto& s : slots_) s.filled = false;
  for (auto& b : buckets_) {
    b.pending = b.size;
    b.started = false;
    b.wait = nullptr;
  }
  next_ = 0;
  overlapped_ = 0;
  armed_ = true;
}

// A gradient as it enters accumulation: with earlier micro-batches', the step's total.
void GradSync::fill(size_t k, const at::Tensor& grad) {
  Slot& s = slots_[k];
  if (s.filled) return;
  at::NoGradGuard no_grad;
  const at::Tensor& p = params_[k];
  auto dst = buckets_[s.bucket].flat.narrow(0, s.offset, p.numel());
  if (grad.defined()) {
    dst.copy_(grad.reshape({-1}));
    if (p.grad().defined()) dst.add_(p.grad().reshape({-1}));
  } else if (p.grad().defined()) {
    dst.copy_(p.grad().reshape({-1}));
  } else {
    dst.zero_();
  }
  s.filled = true;
  if (--buckets_[s.bucket].pending == 0) start_ready();
}

void GradSync::start_ready() {
  while (next_ < buckets_.size() && buckets_[next_].pending == 0) {
    Bucket& b = buckets_[next_++];
    b.wait = pg_.all_reduce_sum_start(b.flat);
    b.started = true;
    if (armed_) ++overlapped_;
  }
}

void GradSync::finish() {
  armed_ = false;  // buckets started from here on did not overlap the backward pass
  for (size_t k = 0; k < params_.size(); ++k)
    if (!slots_[k].filled) fill(k, at::Tensor());  // no gradient this backward: what accumulated, or zeros
  start_ready();
  at::NoGradGuard no_grad;
  for (auto& b : buckets_) b.wait();
  for (size_t k = 0; k < params_.size(); ++k) {
    at::Tensor& p = params_[k];
    const auto sum = buckets_[slots_[k].bucket].flat.narrow(0, slots_[k].offset, p.numel()).view(p.sizes());
    if (p.grad().defined()) p.mutable_grad().copy_(sum);
    else p.mutable_grad() = sum.clone();
  }
}

}  // namespace latent
