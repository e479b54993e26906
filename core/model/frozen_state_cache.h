// Token states of a decoder's frozen lower blocks, kept per sentence across training steps.
// With late injection (model.decoder.latent_from_block K > 0) the blocks below K see only the
// tokens, not z; when none of their parameters trains, a sentence's states there are the same
// every time it comes (later epochs, each evaluation), so they are computed once and read back.
// Causal attention makes a real token's states independent of the padding after it: a row is
// keyed by its ids up to its last non-padding token, and padding positions are returned as zeros
// (their logits are ignored by the loss, and causal attention keeps them from the real tokens).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

namespace latent {

class FrozenStateCache {
 public:
  // max_bytes: stop keeping new sentences beyond this (what is kept stays); pad_id: the
  // padding token, never part of a key.
  FrozenStateCache(int64_t max_bytes, int64_t pad_id) : max_bytes_(max_bytes), pad_id_(pad_id) {}

  // States (B, L, H) of ids (B, L): kept rows read back, the others computed by one call of
  // compute on just those rows ((m, l) ids, l their longest length -> (m, l, H)) and kept while
  // the budget lasts. Call without autograd; the result does not require grad.
  at::Tensor states(const at::Tensor& ids, const std::function<at::Tensor(const at::Tensor&)>& compute);

  int64_t hits() const { return hits_; }      // rows read back
  int64_t misses() const { return misses_; }  // rows computed
  int64_t bytes() const { return bytes_; }    // held
  int64_t sentences() const { return static_cast<int64_t>(kept_.size()); }

 private:
  int64_t max_bytes_, pad_id_;
  int64_t hits_ = 0, misses_ = 0, bytes_ = 0;
  std::unordered_map<std::string, at::Tensor> kept_;  // row ids' bytes -> (len, H)
};

}  // namespace latent
