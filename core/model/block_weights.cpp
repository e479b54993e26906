#include "model/block_weights.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "model/x86_simd.h"

namespace latent {

const char* format_name(BlockMatrix::Format f) { return f == BlockMatrix::Format::Q4_1 ? "q4_1" : "q8_0"; }

namespace {

constexpr int64_t B = BlockMatrix::kBlock;

float half_bits_to_float(int bits) { return static_cast<float>(c10::Half(static_cast<uint16_t>(bits), c10::Half::from_bits())); }

// One run of 32 values as d * q + m (q in 0..15, d and m fp16 as GGUF stores them) such that
// fp32's d * q + m gives each value bit for bit. d * q is exact in fp32 (11 by 4 bits), so it
// does not matter whether the compiler fuses the multiply and add. GGUF's quantizer takes
// m = the minimum and d = (max - min) / 15 rounded to fp16; the fp16 values next to that (and
// the divisors 14 and 13, for a maximum that rounded down a step) cover the rounding.
bool pack_q4_1(const float* w, uint8_t* q16, float& d_out, float& m_out) {
  float lo = w[0], hi = w[0];
  for (int64_t i = 0; i < B; ++i) {
    if (!std::isfinite(w[i])) return false;
    lo = std::min(lo, w[i]);
    hi = std::max(hi, w[i]);
  }
  if (half_bits_to_float(c10::Half(lo).x) != lo) return false;  // m is fp16
  uint8_t q[B];
  if (hi == lo) {
    std::memset(q16, 0, B / 2);
    d_out = 0;
    m_out = lo;
    return true;
  }
  for (const float div : {15.0f, 14.0f, 13.0f}) {
    const int bits = c10::Half((hi - lo) / div).x;
    for (const int step : {0, 1, -1, 2, -2}) {
      const float d = half_bits_to_float(bits + step);
      if (!(d > 0) || !std::isfinite(d)) continue;
      bool ok = true;
      for (int64_t i = 0; i < B && ok; ++i) {
        const float qf = std::nearbyint((w[i] - lo) / d);
        ok = qf >= 0 && qf <= 15 && d * qf + lo == w[i];
        q[i] = ok ? static_cast<uint8_t>(qf) : 0;
      }
      if (!ok) continue;
      for (int64_t j = 0; j < B / 2; ++j) q16[j] = static_cast<uint8_t>(q[j] | (q[j + B / 2] << 4));
      d_out = d;
      m_out = lo;
      return true;
    }
  }
  return false;
}

// One run of 32 values as d * q (q in -127..127, d fp16): GGUF's Q8_0. The largest magnitude
// is 127 d (its q is +-127), so d = amax / 127, exact.
bool pack_q8_0(const float* w, uint8_t* q32, float& d_out) {
  float amax = 0;
  for (int64_t i = 0; i < B; ++i) {
    if (!std::isfinite(w[i])) return false;
    amax = std::max(amax, std::abs(w[i]));
  }
  const float d = amax / 127.0f;
  if (half_bits_to_float(c10::Half(d).x) != d) return false;
  for (int64_t i = 0; i < B; ++i) {
    const float qf = d > 0 ? std::nearbyint(w[i] / d) : 0.0f;
    if (std::abs(qf) > 127 || d * qf != w[i]) return false;
    q32[i] = static_cast<uint8_t>(static_cast<int8_t>(qf));
  }
  d_out = d;
  return true;
}

std::optional<BlockMatrix> pack(const float* w, int64_t rows, int64_t cols, BlockMatrix::Format f) {
  BlockMatrix m;
  m.format = f;
  m.rows = rows;
  m.cols = cols;
  const int64_t nb = cols / B, qbytes = f == BlockMatrix::Format::Q4_1 ? B / 2 : B;
  m.q.resize(static_cast<size_t>(rows * nb * qbytes));
  m.scale.resize(static_cast<size_t>(rows * nb));
  if (f == BlockMatrix::Format::Q4_1) m.offset.resize(m.scale.size());
  std::atomic<bool> ok{true};
  at::parallel_for(0, rows, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1 && ok.load(std::memory_order_relaxed); ++r)
      for (int64_t b = 0; b < nb; ++b) {
        const int64_t k = r * nb + b;
        const bool packed = f == BlockMatrix::Format::Q4_1
                                ? pack_q4_1(w + r * cols + b * B, &m.q[k * qbytes], m.scale[k], m.offset[k])
                                : pack_q8_0(w + r * cols + b * B, &m.q[k * qbytes], m.scale[k]);
        if (!packed) {
          ok = false;
          return;
        }
      }
  });
  if (!ok) return std::nullopt;
  return m;
}

// y[i * rows + o] for o in [o0, o1) and the n rows of x; xsum (n, nb): each block's sum of x
// (for Q4_1's m). Plain loops: the reference the vector code follows, and the path for CPUs
// without AVX2.
void product_plain(const float* x, int64_t n, const BlockMatrix& w, const float* xsum, float* y, int64_t o0, int64_t o1) {
  const int64_t nb = w.cols / B;
  const bool q4 = w.format == BlockMatrix::Format::Q4_1;
  for (int64_t o = o0; o < o1; ++o)
    for (int64_t i = 0; i < n; ++i) {
      float acc = 0;
      for (int64_t b = 0; b < nb; ++b) {
        const int64_t k = o * nb + b;
        const float* xb = x + i * w.cols + b * B;
        float t = 0;
        if (q4) {
          const uint8_t* q = &w.q[k * (B / 2)];
          for (int64_t j = 0; j < B / 2; ++j) t += static_cast<float>(q[j] & 15) * xb[j] + static_cast<float>(q[j] >> 4) * xb[j + B / 2];
          acc += w.scale[k] * t + w.offset[k] * xsum[i * nb + b];
        } else {
          const int8_t* q = reinterpret_cast<const int8_t*>(&w.q[k * B]);
          for (int64_t j = 0; j < B; ++j) t += static_cast<float>(q[j]) * xb[j];
          acc += w.scale[k] * t;
        }
      }
      y[i * w.rows + o] = acc;
    }
}

#ifdef LATENT_X86_AVX2
using simd::hsum;

// The same sums, 8 lanes at a time: a block's 32 q become four vectors of 8 floats once and
// serve up to R rows of x.
template <int R>
__attribute__((target("avx2,fma"))) void product_rows(const float* x, const BlockMatrix& w, const float* xsum, float* y,
                                                      int64_t o0, int64_t o1) {
  const int64_t nb = w.cols / B;
  const bool q4 = w.format == BlockMatrix::Format::Q4_1;
  const __m128i low = _mm_set1_epi8(0x0F);
  for (int64_t o = o0; o < o1; ++o) {
    __m256 acc[R];
    float macc[R];
    for (int r = 0; r < R; ++r) {
      acc[r] = _mm256_setzero_ps();
      macc[r] = 0;
    }
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t k = o * nb + b;
      __m256 q0, q1, q2, q3;
      if (q4) {
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&w.q[k * (B / 2)]));
        const __m128i lo = _mm_and_si128(raw, low), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), low);
        q0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo));
        q1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
        q2 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi));
        q3 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
      } else {
        const uint8_t* q = &w.q[k * B];
        q0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q))));
        q1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + 8))));
        q2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + 16))));
        q3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + 24))));
      }
      const __m256 d = _mm256_set1_ps(w.scale[k]);
      for (int r = 0; r < R; ++r) {
        const float* xb = x + r * w.cols + b * B;
        __m256 t = _mm256_mul_ps(q0, _mm256_loadu_ps(xb));
        t = _mm256_fmadd_ps(q1, _mm256_loadu_ps(xb + 8), t);
        t = _mm256_fmadd_ps(q2, _mm256_loadu_ps(xb + 16), t);
        t = _mm256_fmadd_ps(q3, _mm256_loadu_ps(xb + 24), t);
        acc[r] = _mm256_fmadd_ps(d, t, acc[r]);
        if (q4) macc[r] += w.offset[k] * xsum[r * nb + b];
      }
    }
    for (int r = 0; r < R; ++r) y[r * w.rows + o] = hsum(acc[r]) + macc[r];
  }
}

// Rows of x four at a time (the accumulators stay in registers), then the rest.
void product_avx2(const float* x, int64_t n, const BlockMatrix& w, const float* xsum, float* y, int64_t o0, int64_t o1) {
  const int64_t nb = w.cols / B;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) product_rows<4>(x + i * w.cols, w, xsum + i * nb, y + i * w.rows, o0, o1);
  const auto rest = n - i;
  if (rest == 3) product_rows<3>(x + i * w.cols, w, xsum + i * nb, y + i * w.rows, o0, o1);
  if (rest == 2) product_rows<2>(x + i * w.cols, w, xsum + i * nb, y + i * w.rows, o0, o1);
  if (rest == 1) product_rows<1>(x + i * w.cols, w, xsum + i * nb, y + i * w.rows, o0, o1);
}

#endif

}  // namespace

std::optional<BlockMatrix> exact_blocks(const at::Tensor& weight) {
  if (weight.dim() != 2 || weight.scalar_type() != at::kFloat || !weight.device().is_cpu()) return std::nullopt;
  const int64_t rows = weight.size(0), cols = weight.size(1);
  if (rows == 0 || cols == 0 || cols % B != 0) return std::nullopt;
  const at::Tensor w = weight.detach().contiguous();
  for (const auto f : {BlockMatrix::Format::Q4_1, BlockMatrix::Format::Q8_0})
    if (auto m = pack(w.data_ptr<float>(), rows, cols, f)) return m;
  return std::nullopt;
}

std::vector<at::Tensor> block_linear_many(const at::Tensor& x, const std::vector<const BlockMatrix*>& ws, bool plain) {
  TORCH_CHECK(x.dim() == 2 && x.scalar_type() == at::kFloat && x.device().is_cpu() && !ws.empty(),
              "block_linear: x must be fp32 (n, in) on the CPU");
  const at::Tensor xc = x.contiguous();
  const int64_t n = xc.size(0), cols = xc.size(1), nb = cols / B;
  bool q4 = false;
  std::vector<int64_t> first{0};  // the first output row of each matrix, counted across all
  for (const BlockMatrix* w : ws) {
    TORCH_CHECK(w->cols == cols, "block_linear: x has ", cols, " columns, the weight ", w->cols);
    q4 = q4 || w->format == BlockMatrix::Format::Q4_1;
    first.push_back(first.back() + w->rows);
  }
  const float* xp = xc.data_ptr<float>();
  std::vector<float> xsum(q4 ? static_cast<size_t>(n * nb) : 0);  // (n, nb): Q4_1's m multiplies it
  for (size_t k = 0; k < xsum.size(); ++k) {
    float t = 0;
    for (int64_t j = 0; j < B; ++j) t += xp[k * B + j];
    xsum[k] = t;
  }
  std::vector<at::Tensor> ys;
  std::vector<float*> yp;
  for (const BlockMatrix* w : ws) {
    ys.push_back(at::empty({n, w->rows}, xc.options()));
    yp.push_back(ys.back().data_ptr<float>());
  }
  auto product = product_plain;
  (void)plain;
#ifdef LATENT_X86_AVX2
  if (!plain && simd::cpu_has_avx2_fma()) product = product_avx2;
#endif
  // One parallel pass over the output rows of all the matrices.
  at::parallel_for(0, first.back(), 16, [&](int64_t g0, int64_t g1) {
    for (size_t m = 0; m < ws.size(); ++m) {
      const int64_t lo = std::max(g0, first[m]), hi = std::min(g1, first[m + 1]);
      if (lo < hi) product(xp, n, *ws[m], xsum.data(), yp[m], lo - first[m], hi - first[m]);
    }
  });
  return ys;
}

at::Tensor block_linear(const at::Tensor& x, const BlockMatrix& w, bool plain) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == w.cols, "block_linear: x must be (n, ", w.cols, ")");
  return block_linear_many(x, {&w}, plain)[0];
}

}  // namespace latent
