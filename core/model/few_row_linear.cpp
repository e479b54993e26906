#include "model/few_row_linear.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <algorithm>

#include "model/x86_simd.h"

namespace latent {

namespace {

constexpr int64_t kMaxRows = 16;

#ifdef LATENT_X86_AVX2
using simd::hsum;

// y[r * out + o] = sum_k w[o * in + k] x[r * in + k] for o in [o0, o1) and R rows of x: two
// accumulators a row (16 values a step), a scalar tail for in % 16.
template <int R>
__attribute__((target("avx2,fma"))) void product_rows(const float* x, const float* w, int64_t in, float* y, int64_t out,
                                                      int64_t o0, int64_t o1) {
  const int64_t in16 = in - in % 16;
  for (int64_t o = o0; o < o1; ++o) {
    const float* wo = w + o * in;
    __m256 a0[R], a1[R];
    for (int r = 0; r < R; ++r) a0[r] = a1[r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < in16; k += 16) {
      const __m256 w0 = _mm256_loadu_ps(wo + k), w1 = _mm256_loadu_ps(wo + k + 8);
      for (int r = 0; r < R; ++r) {
        a0[r] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + r * in + k), a0[r]);
        a1[r] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + r * in + k + 8), a1[r]);
      }
    }
    for (int r = 0; r < R; ++r) {
      float s = hsum(_mm256_add_ps(a0[r], a1[r]));
      for (int64_t k = in16; k < in; ++k) s += wo[k] * x[r * in + k];
      y[r * out + o] = s;
    }
  }
}

// Output rows eight at a time (their weights stay in cache), the rows of x four at a time
// within them (the accumulators stay in registers).
void product(const float* x, int64_t n, const float* w, int64_t in, float* y, int64_t out, int64_t o0, int64_t o1) {
  for (int64_t t0 = o0; t0 < o1; t0 += 8) {
    const int64_t t1 = std::min(o1, t0 + 8);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) product_rows<4>(x + i * in, w, in, y + i * out, out, t0, t1);
    const int64_t rest = n - i;
    if (rest == 3) product_rows<3>(x + i * in, w, in, y + i * out, out, t0, t1);
    if (rest == 2) product_rows<2>(x + i * in, w, in, y + i * out, out, t0, t1);
    if (rest == 1) product_rows<1>(x + i * in, w, in, y + i * out, out, t0, t1);
  }
}
#endif

}  // namespace

bool few_row_linear_serves(const at::Tensor& x, const std::vector<at::Tensor>& weights) {
#ifdef LATENT_X86_AVX2
  if (!simd::cpu_has_avx2_fma() || at::GradMode::is_enabled() || weights.empty()) return false;
  if (x.dim() != 2 || x.size(0) < 1 || x.size(0) > kMaxRows || x.size(1) < 1 || x.scalar_type() != at::kFloat ||
      !x.device().is_cpu() || x.requires_grad())
    return false;
  for (const at::Tensor& w : weights)
    if (!w.defined() || w.dim() != 2 || w.size(1) != x.size(1) || w.scalar_type() != at::kFloat || !w.device().is_cpu() ||
        !w.is_contiguous())
      return false;
  return true;
#else
  (void)x;
  (void)weights;
  return false;
#endif
}

std::vector<at::Tensor> few_row_linear_many(const at::Tensor& x, const std::vector<at::Tensor>& weights) {
  TORCH_CHECK(few_row_linear_serves(x, weights), "few_row_linear: x must be fp32 (n <= ", kMaxRows,
              ", in) and the weights fp32 (out, in), contiguous, on the CPU, autograd off");
  std::vector<at::Tensor> ys;
#ifdef LATENT_X86_AVX2
  const at::Tensor xc = x.contiguous();
  const int64_t n = xc.size(0), in = xc.size(1);
  std::vector<int64_t> first{0};  // the first output row of each weight, counted across all
  std::vector<float*> yp;
  for (const at::Tensor& w : weights) {
    first.push_back(first.back() + w.size(0));
    ys.push_back(at::empty({n, w.size(0)}, xc.options()));
    yp.push_back(ys.back().data_ptr<float>());
  }
  const float* xp = xc.data_ptr<float>();
  at::parallel_for(0, first.back(), 32, [&](int64_t g0, int64_t g1) {
    for (size_t m = 0; m < weights.size(); ++m) {
      const int64_t lo = std::max(g0, first[m]), hi = std::min(g1, first[m + 1]);
      if (lo < hi)
        product(xp, n, weights[m].data_ptr<float>(), in, yp[m], weights[m].size(0), lo - first[m], hi - first[m]);
    }
  });
#endif
  return ys;
}

}  // namespace latent
