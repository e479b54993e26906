#include "util/alloc_budget.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <cstdio>
#include <mutex>

#include "util/error.h"

namespace latent {
namespace {

thread_local AllocationBudget* current = nullptr;

// Wraps LibTorch's CPU allocator: every allocation is charged to this thread's budget, if
// it has one, then made by the allocator that was there before.
class BudgetAllocator final : public c10::Allocator {
 public:
  explicit BudgetAllocator(c10::Allocator* inner) : inner_(inner) {}
  c10::DataPtr allocate(size_t n) override {
    if (current) current->charge(n);
    return inner_->allocate(n);
  }
  c10::DeleterFnPtr raw_deleter() const override { return inner_->raw_deleter(); }
  void copy_data(void* dest, const void* src, std::size_t count) const override { inner_->copy_data(dest, src, count); }
  bool is_simple_data_ptr(const c10::DataPtr& p) const override { return inner_->is_simple_data_ptr(p); }

 private:
  c10::Allocator* inner_;
};

void install_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    static BudgetAllocator wrapper(c10::GetCPUAllocator());
    c10::SetCPUAllocator(&wrapper, /*priority=*/100);
  });
}

}  // namespace

std::string format_bytes(uint64_t bytes) {
  char buf[32];
  if (bytes < 1000000)
    std::snprintf(buf, sizeof buf, "%.1f kB", bytes / 1e3);
  else if (bytes < 1000000000)
    std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.1f GB", bytes / 1e9);
  return buf;
}

uint64_t AllocationBudget::for_weights(uint64_t weight_bytes) { return 4 * weight_bytes + (uint64_t(512) << 20); }

uint64_t AllocationBudget::for_sizes(uint64_t available_bytes) { return available_bytes / 4; }

AllocationBudget::AllocationBudget(uint64_t bytes, std::string where, std::string basis)
    : outer_(current), limit_(bytes), where_(std::move(where)), basis_(std::move(basis)) {
  install_once();
  current = this;
}

AllocationBudget::~AllocationBudget() { current = outer_; }

void AllocationBudget::charge(uint64_t bytes) {
  used_ += bytes;
  if (used_ <= limit_) return;
  throw Error(where_, "the model it describes needs more than " + format_bytes(used_) + " of memory, but " + basis_ +
                          " (at most " + format_bytes(limit_) + " is allowed)");
}

}  // namespace latent
