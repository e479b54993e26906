// The latest weights of a model in training, shared between the training worker (which
// publishes a copy every N steps) and the inference worker (which adopts a newer copy
// before answering a request). Plain C++: the snapshot itself is a core type.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

namespace latent {
struct ModelSnapshot;
}

namespace latent::ui {

class SnapshotSlot {
 public:
  void publish(std::shared_ptr<const ModelSnapshot> snapshot) {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_ = std::move(snapshot);
    ++version_;
  }
  // The latest snapshot (null when none) and its version (0: nothing published yet).
  std::shared_ptr<const ModelSnapshot> latest(uint64_t* version = nullptr) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (version) *version = version_;
    return snapshot_;
  }
  uint64_t version() const {
    std::lock_guard<std::mutex> lock(mu_);
    return version_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ModelSnapshot> snapshot_;
  uint64_t version_ = 0;
};

}  // namespace latent::ui
