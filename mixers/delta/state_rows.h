// Row operations on the delta rule's [Dk, Dv] state matrices (S^T, its gradient): a = M^T x sums of
// rows, and row dot products kept as eight lane sums; checked directly and through the kernels in test_delta.cpp.
#pragma once
#include <algorithm>
#include <cstdint>

#include "ops/simd_math.h"
#include "ops/vector_ops.h"

namespace seqbench {
namespace delta_rows {

// Eight floats as one value (GCC/Clang vector extension). The reverse step needs one dot
// product per row of a [Dk, Dv] matrix; a horizontal sum per row (what `omp simd reduction`
// compiles to) costs more than the row's arithmetic at Dv <= 64, so each row keeps eight lane
// sums and rows are reduced eight at a time by a transpose-add (row_sums8).
using Lanes8 = SimdFloat8;
constexpr int64_t kLanes = 8;

// Pairwise sums within 128-bit halves: {a0+a1, a2+a3, b0+b1, b2+b3, a4+a5, a6+a7, b4+b5, b6+b7}.
inline Lanes8 pair_sums(Lanes8 a, Lanes8 b) {
  return __builtin_shufflevector(a, b, 0, 2, 8, 10, 4, 6, 12, 14) +
         __builtin_shufflevector(a, b, 1, 3, 9, 11, 5, 7, 13, 15);
}

// rows: eight rows of eight lane sums, [8][8]; returns {sum of row 0, ..., sum of row 7}.
inline Lanes8 row_sums8(const float* rows) {
  const Lanes8 r01 = pair_sums(simd_load8(rows), simd_load8(rows + 8)), r23 = pair_sums(simd_load8(rows + 16), simd_load8(rows + 24));
  const Lanes8 r45 = pair_sums(simd_load8(rows + 32), simd_load8(rows + 40)), r67 = pair_sums(simd_load8(rows + 48), simd_load8(rows + 56));
  // Lane r of low (high) halves: row r's lanes 0-3 (4-7), rows 0-3 from a and 4-7 from b.
  const Lanes8 a = pair_sums(r01, r23), b = pair_sums(r45, r67);
  return __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11) +
         __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15);
}

// The state is held transposed, S^T [Dk, Dv] (fla's [K, V] layout): S k and S q are then sums of
// rows of S^T scaled by k_j, q_j, vectorised along Dv with no horizontal sums, which at
// head_dim <= 64 cost more than the arithmetic. a = M^T x and b = M^T y for M [rows, n]; rows are
// taken four at a time so a and b are loaded and stored once per four rows.
inline void combine_rows(const float* M, int64_t rows, int64_t n, const float* x, const float* y, float* a, float* b) {
  fill_zero_cpu(a, n);
  fill_zero_cpu(b, n);
  int64_t j = 0;
  for (; j + 4 <= rows; j += 4) {
    const float *m0 = M + j * n, *m1 = m0 + n, *m2 = m1 + n, *m3 = m2 + n;
    const float x0 = x[j], x1 = x[j + 1], x2 = x[j + 2], x3 = x[j + 3];
    const float y0 = y[j], y1 = y[j + 1], y2 = y[j + 2], y3 = y[j + 3];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      a[i] += x0 * m0[i] + x1 * m1[i] + x2 * m2[i] + x3 * m3[i];
      b[i] += y0 * m0[i] + y1 * m1[i] + y2 * m2[i] + y3 * m3[i];
    }
  }
  for (; j < rows; ++j) {
    axpy_cpu(x[j], M + j * n, a, n);
    axpy_cpu(y[j], M + j * n, b, n);
  }
}

// a = G^T x and, when kWithProducts, b_i = sum_j G_ji P_ji (the per-row halves of <G, P>).
template <bool kWithProducts>
void combine_gradient_rows(const float* G, const float* P, int64_t rows, int64_t n, const float* x, float* a,
                           float* b) {
  fill_zero_cpu(a, n);
  if (kWithProducts) fill_zero_cpu(b, n);
  int64_t j = 0;
  for (; j + 4 <= rows; j += 4) {
    const float *g0 = G + j * n, *g1 = g0 + n, *g2 = g1 + n, *g3 = g2 + n;
    const float *p0 = P + j * n, *p1 = p0 + n, *p2 = p1 + n, *p3 = p2 + n;
    const float x0 = x[j], x1 = x[j + 1], x2 = x[j + 2], x3 = x[j + 3];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      a[i] += x0 * g0[i] + x1 * g1[i] + x2 * g2[i] + x3 * g3[i];
      if (kWithProducts) b[i] += g0[i] * p0[i] + g1[i] * p1[i] + g2[i] * p2[i] + g3[i] * p3[i];
    }
  }
  for (; j < rows; ++j) {
    const float *g = G + j * n, *p = P + j * n;
    const float xj = x[j];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      a[i] += xj * g[i];
      if (kWithProducts) b[i] += g[i] * p[i];
    }
  }
}

}  // namespace delta_rows
}  // namespace seqbench
