#include "mixers/gla/triangular_matmul_cpu.h"

#include <algorithm>
#include <cstring>

#include "ops/simd_math.h"

namespace seqbench {
namespace {

constexpr int64_t kRows = 4;
constexpr int64_t kCols = 16;

// Column panel [j0, j0 + kCols) of the rows x width matrix b (rows ldb apart): read in place when
// it is whole, else copied zero-padded into `tail` (rows x kCols). Returns the panel and its stride.
const float* panel_of(const float* b, int64_t ldb, int64_t rows, int64_t width, int64_t j0, float* tail,
                      int64_t* stride) {
  const int64_t cols = std::min(kCols, width - j0);
  if (cols == kCols) {
    *stride = ldb;
    return b + j0;
  }
  for (int64_t k = 0; k < rows; ++k) {
    std::copy(b + k * ldb + j0, b + k * ldb + j0 + cols, tail + k * kCols);
    std::fill(tail + k * kCols + cols, tail + (k + 1) * kCols, 0.0f);
  }
  *stride = kCols;
  return tail;
}

// acc[r] += sum_{k in [k0, k1)} coef(r, k) panel[k], kRows rows of one panel; coef(r, k) at
// coef[r * coef_row + k * coef_col].
struct Block {
  SimdFloat8 acc[kRows][2] = {};

  void accumulate(const float* coef, int64_t coef_row, int64_t coef_col, const float* panel, int64_t stride,
                  int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      const SimdFloat8 b0 = simd_load8(panel + k * stride), b1 = simd_load8(panel + k * stride + 8);
      for (int64_t r = 0; r < kRows; ++r) {
        const float a = coef[r * coef_row + k * coef_col];
        acc[r][0] += a * b0;
        acc[r][1] += a * b1;
      }
    }
  }

  // c_row[j] (+)= alpha acc[r][j] for j < cols; entries j >= zero_from are set to 0 instead.
  void store(int64_t r, float alpha, bool accumulate, float* c_row, int64_t cols, int64_t zero_from) const {
    if (cols == kCols && zero_from >= kCols) {
      const SimdFloat8 zero{};
      simd_store8(c_row, (accumulate ? simd_load8(c_row) : zero) + alpha * acc[r][0]);
      simd_store8(c_row + 8, (accumulate ? simd_load8(c_row + 8) : zero) + alpha * acc[r][1]);
      return;
    }
    float out[kCols];
    std::memcpy(out, &acc[r][0], sizeof(acc[r][0]));
    std::memcpy(out + 8, &acc[r][1], sizeof(acc[r][1]));
    for (int64_t j = 0; j < cols; ++j)
      c_row[j] = j >= zero_from ? 0.0f : (accumulate ? c_row[j] : 0.0f) + alpha * out[j];
  }
};

}  // namespace

void triangular_matmul_acc_cpu(const float* l, int64_t ldl, TriangularSide side, const float* b, int64_t ldb,
                               float* c, int64_t ldc, int64_t n, int64_t width, std::vector<float>& scratch) {
  if (n <= 0 || width <= 0) return;
  if (scratch.size() < static_cast<size_t>(n * kCols)) scratch.resize(static_cast<size_t>(n * kCols));
  const bool lower = side == TriangularSide::lower;
  for (int64_t i0 = 0; i0 < n; i0 += kRows) {
    const int64_t rows = std::min(kRows, n - i0);
    // L's zeros above the diagonal mask the rows of a block that start or stop inside it.
    const int64_t k0 = lower ? 0 : i0, k1 = lower ? i0 + rows : n;
    const float* coef = lower ? l + i0 * ldl : l + i0;
    const int64_t coef_row = lower ? ldl : 1, coef_col = lower ? 1 : ldl;
    for (int64_t j0 = 0; j0 < width; j0 += kCols) {
      int64_t stride = 0;
      const float* panel = panel_of(b, ldb, n, width, j0, scratch.data(), &stride);
      Block block;
      if (rows == kRows) {
        block.accumulate(coef, coef_row, coef_col, panel, stride, k0, k1);
      } else {
        for (int64_t r = 0; r < rows; ++r) {  // the last, partial block: row by row, inside L
          Block single;
          single.accumulate(coef + r * coef_row, 0, coef_col, panel, stride, k0, k1);
          block.acc[r][0] = single.acc[0][0];
          block.acc[r][1] = single.acc[0][1];
        }
      }
      for (int64_t r = 0; r < rows; ++r)
        block.store(r, 1.0f, true, c + (i0 + r) * ldc + j0, std::min(kCols, width - j0), kCols);
    }
  }
}

void lower_scores_cpu(const float* a, int64_t lda, const float* bt, int64_t ldbt, float alpha, float* s, int64_t lds,
                      int64_t n, int64_t depth, std::vector<float>& scratch) {
  if (n <= 0) return;
  if (scratch.size() < static_cast<size_t>(depth * kCols)) scratch.resize(static_cast<size_t>(depth * kCols));
  for (int64_t i0 = 0; i0 < n; i0 += kRows) {
    const int64_t rows = std::min(kRows, n - i0);
    const float* coef = a + i0 * lda;
    for (int64_t j0 = 0; j0 < n; j0 += kCols) {
      float* row0 = s + i0 * lds + j0;
      if (j0 >= i0 + rows) {  // wholly above the diagonal
        for (int64_t r = 0; r < rows; ++r)
          std::fill(row0 + r * lds, row0 + r * lds + std::min(kCols, n - j0), 0.0f);
        continue;
      }
      int64_t stride = 0;
      const float* panel = panel_of(bt, ldbt, depth, n, j0, scratch.data(), &stride);
      Block block;
      if (rows == kRows) {
        block.accumulate(coef, lda, 1, panel, stride, 0, depth);
      } else {
        for (int64_t r = 0; r < rows; ++r) {
          Block single;
          single.accumulate(coef + r * lda, 0, 1, panel, stride, 0, depth);
          block.acc[r][0] = single.acc[0][0];
          block.acc[r][1] = single.acc[0][1];
        }
      }
      for (int64_t r = 0; r < rows; ++r)
        block.store(r, alpha, false, row0 + r * lds, std::min(kCols, n - j0), i0 + r + 1 - j0);
    }
  }
}

}  // namespace seqbench
