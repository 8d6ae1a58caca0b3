#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/bf16_bits.h"
#include "ops/matmul.h"
#include "ops/simd_math.h"

namespace seqbench {
namespace {

// Register-blocked kernel: a 4 x 16 tile of C lives in eight 8-wide vector registers while K is
// walked, so each FMA costs one broadcast and no C traffic (the naive loop is L1-bound instead).
// GCC vector extensions map to AVX2/FMA under -march=x86-64-v3 and to SSE pairs otherwise.
using v8 = SimdFloat8;
constexpr int64_t kRows = 4;
constexpr int64_t kCols = 16;

// B [K, N] (or [N, K] when transposed) packed into column panels of kCols, zero-padded:
// panel j holds B[:, j*kCols : (j+1)*kCols] as K consecutive rows of kCols floats.
std::vector<float> pack_b(const float* b, int64_t n, int64_t k, bool trans_b) {
  const int64_t panels = (n + kCols - 1) / kCols;
  std::vector<float> packed(static_cast<size_t>(panels * k * kCols), 0.0f);
  for (int64_t panel = 0; panel < panels; ++panel) {
    float* dst = packed.data() + panel * k * kCols;
    const int64_t j0 = panel * kCols, width = std::min(kCols, n - j0);
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < width; ++j) dst[p * kCols + j] = trans_b ? b[(j0 + j) * k + p] : b[p * n + j0 + j];
  }
  return packed;
}

// C[i0 : i0+rows, j0 : j0+width] (+)= A rows * panel, rows <= kRows, width <= kCols.
void tile(const float* a, int64_t a_row_stride, int64_t a_col_stride, const float* panel, float* c, int64_t n,
          int64_t i0, int64_t rows, int64_t j0, int64_t width, int64_t k, bool accumulate) {
  v8 acc[kRows][2] = {};
  const float* a_rows[kRows];
  for (int64_t r = 0; r < kRows; ++r) a_rows[r] = a + (i0 + std::min(r, rows - 1)) * a_row_stride;
  for (int64_t p = 0; p < k; ++p) {
    const v8 b0 = simd_load8(panel + p * kCols), b1 = simd_load8(panel + p * kCols + 8);
    for (int64_t r = 0; r < kRows; ++r) {
      const float av = a_rows[r][p * a_col_stride];
      acc[r][0] += av * b0;
      acc[r][1] += av * b1;
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    float* c_row = c + (i0 + r) * n + j0;
    float out[kCols];
    simd_store8(out, acc[r][0]);
    simd_store8(out + 8, acc[r][1]);
    if (accumulate)
      for (int64_t j = 0; j < width; ++j) c_row[j] += out[j];
    else
      std::memcpy(c_row, out, static_cast<size_t>(width) * sizeof(float));
  }
}

}  // namespace

void matmul_cpu(const float* a, const float* b, float* c, const MatmulShape& s) {
  const int64_t m = s.m, n = s.n, k = s.k;
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!s.accumulate) std::fill(c, c + m * n, 0.0f);
    return;
  }
  const std::vector<float> packed = pack_b(b, n, k, s.trans_b);
  const int64_t a_row_stride = s.trans_a ? 1 : k;
  const int64_t a_col_stride = s.trans_a ? m : 1;
  const int64_t row_blocks = (m + kRows - 1) / kRows;
  const int64_t panels = (n + kCols - 1) / kCols;
  const int64_t tiles = row_blocks * panels;
  const bool parallel = m * n * k > (1 << 15);
  // Each tile of C is written by exactly one thread: results do not depend on the thread count.
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t block = t / panels, panel = t % panels;
    const int64_t i0 = block * kRows, j0 = panel * kCols;
    tile(a, a_row_stride, a_col_stride, packed.data() + panel * k * kCols, c, n, i0, std::min(kRows, m - i0), j0,
         std::min(kCols, n - j0), k, s.accumulate);
  }
}

void round_to_bf16_cpu(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = float_to_bf16_bits(src[i]);
}

// bf16 values are exact in fp32, so widening them and running the fp32 kernel is the mixed-precision
// product exactly, up to the order of the fp32 sums.
void matmul_bf16_operands_cpu(const uint16_t* a, const uint16_t* b, float* c, const MatmulShape& s) {
  auto widen = [](const uint16_t* x, int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = bf16_bits_to_float(x[i]);
    return out;
  };
  matmul_cpu(widen(a, s.m * s.k).data(), widen(b, s.k * s.n).data(), c, s);
}

template <>
MatmulKernels cpu_kernel_table<MatmulKernels>{{}, matmul_cpu, round_to_bf16_cpu, matmul_bf16_operands_cpu};

}  // namespace seqbench
