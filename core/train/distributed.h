// Data-parallel training across processes on PyTorch's c10d: a TCPStore rendezvous and a
// Gloo (CPU) or NCCL (CUDA) process group, as torchrun sets them up. The header stays free
// of the c10d, Gloo and NCCL headers; distributed.cpp holds them (built with Debian's
// libgloo-dev headers, which the pip wheel's compiled Gloo matches for the types
// ProcessGroupGloo.hpp names, and the nccl.h of pip nvidia-nccl, which torch depends on).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "train/dist_env.h"

namespace latent {

// Whether this build can join a Gloo process group (it has the Gloo headers), and an NCCL
// one (a CUDA LibTorch and NCCL's header too).
bool distributed_available();
bool nccl_available();

// A joined process group. Every call is collective: each rank makes the same calls in the
// same order. A rank that dies or stalls makes the others' next call throw latent::Error
// within the timeout.
class ProcessGroup {
 public:
  // Blocks until all WORLD_SIZE ranks have joined (or the timeout passes). device: the
  // training device; CUDA joins NCCL on that device (each rank its own), the CPU Gloo.
  // Tensors given to the calls may be on any device.
  static std::unique_ptr<ProcessGroup> join(const DistEnv& env, const at::Device& device);
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  virtual std::string backend() const = 0;  // "Gloo" or "NCCL"
  // In place: the element-wise sum over ranks. Tensors are packed into buckets of about
  // 25 MB (flattened per dtype), one all-reduce per bucket.
  virtual void all_reduce_sum(const std::vector<at::Tensor>& tensors) = 0;
  // Starts the in-place sum over ranks of one contiguous tensor and returns at once; the
  // returned function waits for it (throwing as the calls above do). GradSync overlaps the
  // gradient sums with backward through it.
  virtual std::function<void()> all_reduce_sum_start(const at::Tensor& flat) = 0;
  // In place: rank root's values on every rank.
  virtual void broadcast(const std::vector<at::Tensor>& tensors, int root) = 0;
  virtual void barrier() = 0;
};

}  // namespace latent
