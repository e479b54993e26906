// A cap on what LibTorch allocates on the CPU while this thread builds a model that a file
// describes. A model folder's config.json fixes the shapes, and its weights file says how
// large the model can honestly be: a damaged or hostile config.json (an intermediate size
// of 3,000,000) must not allocate gigabytes before the shapes are compared with the
// weights. Loaders open a budget around construction; the allocation that would pass it
// throws latent::Error naming the file instead.
#pragma once

#include <cstdint>
#include <string>

namespace latent {

class AllocationBudget {
 public:
  // Until destroyed, CPU tensor allocations made by this thread may total `bytes` (freed
  // memory is not given back: the count is an upper bound of what construction touches).
  // where: the file (or settings) that describe the model; basis: what the limit comes from
  // and what exceeding it means, for the message ("model.safetensors holds 14.2 MB: its
  // shapes do not match the weights").
  AllocationBudget(uint64_t bytes, std::string where, std::string basis);
  ~AllocationBudget();
  AllocationBudget(const AllocationBudget&) = delete;
  AllocationBudget& operator=(const AllocationBudget&) = delete;

  uint64_t used() const { return used_; }
  void charge(uint64_t bytes);  // called by the allocator; throws when over the limit

  // The limit for a model whose weights files total `weight_bytes`: parameters in float32
  // from files of 16-bit floats (x2), initialisation temporaries (x2), and 512 MiB for
  // buffers and fresh parts (noise network, latent projections).
  static uint64_t for_weights(uint64_t weight_bytes);
  // The limit for a model built from sizes alone (a preset, --config, the Train view), which
  // no weights bound: a quarter of the memory available (training needs about four times
  // what building takes: weights, gradients and Adam's two moments); 0 where unknown.
  static uint64_t for_sizes(uint64_t available_bytes);

 private:
  AllocationBudget* outer_;
  uint64_t limit_, used_ = 0;
  std::string where_, basis_;
};

std::string format_bytes(uint64_t bytes);  // "14.2 MB", "3.1 GB"

}  // namespace latent
