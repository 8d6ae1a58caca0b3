// One key tile of FlashAttention's online softmax (Dao 2023, Alg. 1; FlashAttention-3's exp2 form)
// on wgmma accumulators in registers, in three steps so a P V product can run between them: mask,
// new row maxima and P = exp2(S * scale * log2e - m * scale * log2e); rescale of the running output;
// P as bf16 register A fragments for O += P V. Used by softmax_attention_hopper_consumer.cuh;
// checked through test_gpu_softmax_hopper.cpp.
#pragma once
#include <cmath>
#include <cstdint>

#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace wgmma_softmax {

// 2^x in one MUFU instruction (2 ulp; 2^-inf = 0), enough for probabilities that are rounded to bf16.
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// This thread's two rows of one 64-row warpgroup tile: row_lo and row_lo + 8 (accumulator halves
// r = 0, 1 in ops/cuda/hopper/wgmma.cuh's layout; lane 4 g + t holds columns 8 i + 2 t + {0, 1}).
// max is in raw score units (the scale is positive, so maxima commute with it).
struct RowState {
  float max[2] = {-INFINITY, -INFINITY};
  float sum[2] = {0.0f, 0.0f};  // this lane's partial sums; the quad's four are added at the end
};

// Turns raw scores of kCols keys starting at key0 into unnormalised probabilities exp2(s * c - m * c)
// (c = scale * log2e) against the updated row maxima, adds them to the row sums, and returns in
// `correction` the factor the running output must be multiplied by (exp2 of old max - new max).
// Masked when `masked`: the scores of keys with hidden(row, col) become -inf. The running output is
// not touched, so a P V product may still be accumulating into it.
template <int kCols, class Hidden>
__device__ __forceinline__ void exponentiate_scores(float (&s)[kCols / 2], RowState& rows, float (&correction)[2],
                                                    bool masked, const Hidden& hidden, int key0, int row_lo,
                                                    float scale_log2) {
  const int t = threadIdx.x % 4;
  if (masked) {
#pragma unroll
    for (int i = 0; i < kCols / 8; ++i)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int col = key0 + 8 * i + 2 * t + (e & 1), row = row_lo + 8 * (e >> 1);
        if (hidden(row, col)) s[4 * i + e] = -INFINITY;
      }
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float m = rows.max[r];
#pragma unroll
    for (int i = 0; i < kCols / 8; ++i) m = fmaxf(m, fmaxf(s[4 * i + 2 * r], s[4 * i + 2 * r + 1]));
    m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 1));  // a row's columns are spread over a quad
    m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 2));
    // A row that has seen only masked keys (padding rows past L) keeps zeros instead of NaN.
    const float m_scaled = m == -INFINITY ? 0.0f : m * scale_log2;
    correction[r] = fast_exp2(rows.max[r] * scale_log2 - m_scaled);
    rows.max[r] = m;
    rows.sum[r] *= correction[r];
#pragma unroll
    for (int i = 0; i < kCols / 8; ++i) {
      s[4 * i + 2 * r] = fast_exp2(fmaf(s[4 * i + 2 * r], scale_log2, -m_scaled));
      s[4 * i + 2 * r + 1] = fast_exp2(fmaf(s[4 * i + 2 * r + 1], scale_log2, -m_scaled));
      rows.sum[r] += s[4 * i + 2 * r] + s[4 * i + 2 * r + 1];
    }
  }
}

// o (D / 2 accumulators of the running output) *= correction of its row.
template <int D>
__device__ __forceinline__ void rescale_output(float (&o)[D / 2], const float (&correction)[2]) {
#pragma unroll
  for (int i = 0; i < D / 8; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[4 * i + e] *= correction[e / 2];
}

// P as bf16 A fragments: accumulator blocks 2 kk and 2 kk + 1 are keys 16 kk .. 16 kk + 15.
template <int kCols>
__device__ __forceinline__ void probabilities_as_a(const float (&s)[kCols / 2], uint32_t (&p)[kCols / 16][4]) {
#pragma unroll
  for (int kk = 0; kk < kCols / 16; ++kk)
#pragma unroll
    for (int e = 0; e < 4; ++e) p[kk][e] = tc::pack_bf16x2(s[8 * kk + 2 * e], s[8 * kk + 2 * e + 1]);
}

}  // namespace wgmma_softmax
}  // namespace seqbench
