// What the AVX2 + FMA kernels of core/model share (block_weights.cpp, few_row_linear.cpp):
// the CPU check their runtime dispatch asks, and the sum of a vector's 8 lanes. On other
// compilers and CPUs LATENT_X86_AVX2 is not defined and the kernels' callers use their
// fallbacks.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define LATENT_X86_AVX2 1

namespace latent::simd {

inline bool cpu_has_avx2_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace latent::simd
#endif
