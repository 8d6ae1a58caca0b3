// Short contiguous float-vector loops shared by the CPU mixer kernels (rows of head_dim or feature
// width). `omp simd` lets the dot product be vectorised without -ffast-math; the summation order
// is fixed by the code, not by the thread count, so results stay reproducible.
#pragma once
#include <cstdint>

namespace seqbench {

inline float dot_cpu(const float* __restrict a, const float* __restrict b, int64_t n) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// y += alpha * x
inline void axpy_cpu(float alpha, const float* __restrict x, float* __restrict y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

inline void scale_cpu(float alpha, float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
}

inline void fill_zero_cpu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = 0.0f;
}

// x[t * stride + d] for t < n, d < width  ->  xt[d * n + t]. Holding one feature of every token
// side by side turns per-token dot products into axpys vectorised over tokens.
inline void transpose_tokens_cpu(const float* __restrict x, int64_t n, int64_t stride, int64_t width,
                                 float* __restrict xt) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t d = 0; d < width; ++d) xt[d * n + t] = x[t * stride + d];
}

}  // namespace seqbench
