// Gradient sums across processes overlapped with backward, as DDP's reducer does: the
// trained parameters are packed, in reverse order (about the order backward produces their
// gradients), into buckets of about 25 MB; a hook on each parameter copies its gradient into
// its bucket, and a bucket whose gradients are all in starts its all-reduce while backward
// goes on. Buckets start strictly in order, so every rank issues the same collectives in the
// same order whatever its timing. finish() starts what is left (parameters that got no
// gradient this step count their accumulated gradient, or zeros), waits, and writes the sums
// into .grad.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace latent {

class ProcessGroup;

class GradSync {
 public:
  GradSync(ProcessGroup& pg, std::vector<at::Tensor> params, int64_t bucket_bytes = 25 << 20);
  ~GradSync();
  GradSync(const GradSync&) = delete;
  GradSync& operator=(const GradSync&) = delete;

  // The next backward is the step's last (with gradient accumulation, the earlier ones only
  // accumulate): its hooks fill the buckets and start their sums.
  void arm();
  // After that backward, or instead of it when this rank had nothing to back-propagate:
  // starts the remaining buckets, waits for all, and leaves every parameter's .grad holding
  // the sum over ranks.
  void finish();
  size_t buckets() const { return buckets_.size(); }
  // Buckets started while backward was still running, in the last finish() (for the log).
  size_t started_during_backward() const { return overlapped_; }

 private:
  struct Slot {
    size_t bucket = 0;
    int64_t offset = 0;
    bool filled = false;
  };
  struct Bucket {
    at::Tensor flat;
    size_t pending = 0, size = 0;
    bool started = false;
    std::function<void()> wait;
  };
  void fill(size_t i, const at::Tensor& grad);
  void start_ready();

  ProcessGroup& pg_;
  std::vector<at::Tensor> params_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<unsigned> hooks_;
  size_t next_ = 0;  // the first bucket not started
  size_t overlapped_ = 0;
  bool armed_ = false;
};

}  // namespace latent
