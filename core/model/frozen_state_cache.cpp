#include "model/frozen_state_cache.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <vector>

namespace latent {

at::Tensor FrozenStateCache::states(const at::Tensor& ids, const std::function<at::Tensor(const at::Tensor&)>& compute) {
  TORCH_CHECK(ids.dim() == 2, "FrozenStateCache: ids must be (B, L)");
  const at::Tensor host = ids.to(at::kCPU, at::kLong).contiguous();
  const int64_t B = host.size(0), L = host.size(1);
  const int64_t* p = host.data_ptr<int64_t>();
  std::vector<std::string> keys(B);
  std::vector<int64_t> lengths(B);
  std::vector<int64_t> missing;
  for (int64_t r = 0; r < B; ++r) {
    int64_t len = L;
    while (len > 0 && p[r * L + len - 1] == pad_id_) --len;
    lengths[r] = len;
    keys[r].assign(reinterpret_cast<const char*>(p + r * L), static_cast<size_t>(len) * sizeof(int64_t));
    if (!kept_.count(keys[r])) missing.push_back(r);
  }
  hits_ += B - static_cast<int64_t>(missing.size());
  misses_ += static_cast<int64_t>(missing.size());

  std::unordered_map<int64_t, at::Tensor> fresh;  // row -> (len, H), this call's computed rows
  if (!missing.empty()) {
    int64_t longest = 1;
    for (int64_t r : missing) longest = std::max(longest, lengths[r]);
    const auto rows = at::tensor(missing, at::kLong).to(ids.device());
    const at::Tensor computed = compute(ids.index_select(0, rows).narrow(1, 0, longest));  // (m, longest, H)
    TORCH_CHECK(computed.dim() == 3 && computed.size(0) == static_cast<int64_t>(missing.size()) && computed.size(1) == longest,
                "FrozenStateCache: compute returned the wrong shape");
    for (size_t i = 0; i < missing.size(); ++i) {
      const int64_t r = missing[i];
      at::Tensor row = computed.select(0, static_cast<int64_t>(i)).narrow(0, 0, lengths[r]);
      const int64_t size = row.numel() * static_cast<int64_t>(row.element_size());
      if (!kept_.count(keys[r]) && bytes_ + size <= max_bytes_) {  // a sentence twice in one batch is kept once
        row = row.clone();
        kept_.emplace(keys[r], row);
        bytes_ += size;
      }
      fresh.emplace(r, row);
    }
  }

  at::Tensor first = fresh.empty() ? kept_.at(keys[0]) : fresh.begin()->second;
  at::Tensor out = at::zeros({B, L, first.size(-1)}, first.options());
  for (int64_t r = 0; r < B; ++r) {
    if (lengths[r] == 0) continue;
    const auto f = fresh.find(r);
    out.select(0, r).narrow(0, 0, lengths[r]).copy_(f != fresh.end() ? f->second : kept_.at(keys[r]));
  }
  return out;
}

}  // namespace latent
