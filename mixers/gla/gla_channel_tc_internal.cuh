// Pieces the per-channel-decay GLA kernels on bf16 tensor cores share (scan: gla_channel_tc_scan_cuda.cu,
// forward: gla_channel_tc_cuda.cu, backward: gla_channel_tc_bwd_cuda.cu): the decay tile and its
// cumulative sum inside a chunk, per-channel decayed fragments, and the intra-chunk scores
// A_ij = scale sum_d q_id k_jd e^{b_id - b_jd} (j <= i). Math and contract: gla_channel_bf16.cuh.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <initializer_list>

#include "mixers/gla/gla.h"
#include "mixers/gla/gla_scalar_tc_internal.cuh"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace gla_ch {

using bf16 = __nv_bfloat16;
using gla_tc::ChunkGrid;
using gla_tc::kChunk;
using gla_tc::kScoreStride;
constexpr int kSub = 16;  // secondary chunk: the rows of one MMA tile

// Row stride of a [64][DK] fp32 decay tile: 16-byte rows for cp.async, rows 4 banks apart.
template <int DK>
__host__ __device__ constexpr int decay_ld() {
  return DK + 4;
}

// X <- diag(e^{b_63}) X + sum_t (w_t * a_t) u_t^T over the chunks of every head (w_t, b per key channel),
// writing X (bf16) to states [BH, NC, dk, dv] before each chunk is added. Forward (reverse false): a = k,
// u = v, w_t = e^{b_63 - b_t}, chunks in order: the state at each chunk's start, final_state (fp32, may be
// null) the state after the last token. Backward (reverse true): a = q, u = dout, w_t = scale e^{b_t},
// chunks last to first: dL/dS at each chunk's end. g is the raw log decay [B, L, H, dk].
// rows64: one block per 64 key channels as well (GlaChannelVariant::scan_rows64), else one for all of them.
void launch_channel_state_scan(const bf16* a, const bf16* u, const float* g, bf16* states, float* final_state,
                               float scale, bool reverse, bool rows64, int dk, int dv, const ChunkGrid& d,
                               cudaStream_t stream);

// dlog_decay [B, L, H, dk] <- the reverse cumulative sum over each head's tokens of r ([BH, NC * 64, dk], r =
// q dq - k dk per channel), 0 at t = 0; r_totals [BH, NC, dk] holds each chunk's sum of r and is overwritten.
void launch_channel_decay_grad(const float* r, float* r_totals, float* dlog_decay, int dk, const ChunkGrid& d,
                               cudaStream_t stream);

// The log decays of chunk c of head bh, channels [col0, col0 + WIDTH) of dk, as a [64][WIDTH] fp32 tile rows
// decay_ld<WIDTH>() apart, rows past L zero (so b repeats the last token's value there). The caller commits.
template <int WIDTH, int THREADS>
__device__ __forceinline__ void load_decay_tile_async(float* dst, const float* g, int bh, int c, const ChunkGrid& d,
                                                      int dk, int col0 = 0) {
  constexpr int kPerRow = WIDTH / 4, kLd = decay_ld<WIDTH>();
  const float* src = g + gla_tc::head_offset(bh, d, dk) + col0;
  const int64_t stride = static_cast<int64_t>(d.H) * dk;
  const int t0 = c * kChunk;
  for (int i = threadIdx.x; i < kChunk * kPerRow; i += THREADS) {
    const int r = i / kPerRow, col = (i % kPerRow) * 4;
    const bool valid = t0 + r < d.L;
    tc::copy_async_16(dst + r * kLd + col, valid ? src + (t0 + r) * stride + col : src, valid);
  }
}

// b_t = g_0 + ... + g_t down each channel of a [64][DK] tile, in place. THREADS / DK threads share a channel,
// each summing a run of rows, then adding the runs above it. Every thread of the block calls it.
template <int DK, int THREADS>
__device__ __forceinline__ void cumulative_decay_in_place(float* b) {
  constexpr int kParts = THREADS / DK, kRows = kChunk / kParts, kLd = decay_ld<DK>();
  static_assert(THREADS % DK == 0 && kChunk % kParts == 0, "whole runs of rows per thread");
  const int ch = threadIdx.x % DK, part = threadIdx.x / DK;
  float* col = b + part * kRows * kLd + ch;
  float run = 0.0f;
#pragma unroll 8
  for (int r = 0; r < kRows; ++r) {
    run += col[r * kLd];
    col[r * kLd] = run;
  }
  if constexpr (kParts > 1) {
    __syncthreads();
    float offset = 0.0f;
    for (int p = 0; p < part; ++p) offset += b[((p + 1) * kRows - 1) * kLd + ch];
    __syncthreads();  // every offset read before any run moves
    if (part > 0)
      for (int r = 0; r < kRows; ++r) col[r * kLd] += offset;
  }
  __syncthreads();
}

// The bf16 pair x[0..1] e^{bx[0..1] - by[0..1]} (x, bx, by at an even channel). Callers pick bx, by so the
// exponent is <= 0 for decays <= 0: a row against an earlier reference row, or a reference against an earlier row.
__device__ __forceinline__ uint32_t decayed_pair(const bf16* x, const float* bx, const float* by) {
  const float2 xv = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(x));
  const float2 p = *reinterpret_cast<const float2*>(bx), r = *reinterpret_cast<const float2*>(by);
  return tc::pack_bf16x2(xv.x * __expf(p.x - r.x), xv.y * __expf(p.y - r.y));
}

// Sub-chunk pair p (0..5) below the diagonal: (I, J) = (1,0), (2,0), (2,1), (3,0), (3,1), (3,2).
__device__ __forceinline__ void lower_pair(int p, int& I, int& J) {
  I = p < 1 ? 1 : (p < 3 ? 2 : 3);
  J = p - I * (I - 1) / 2;
}

// Entry e (< 136) of a 16 x 16 lower triangle, row by row: (i, j) with j <= i.
__device__ __forceinline__ void triangle_entry(int e, int& i, int& j) {
  i = static_cast<int>((sqrtf(8.0f * e + 1.0f) - 1.0f) * 0.5f);
  while ((i + 1) * (i + 2) / 2 <= e) ++i;
  while (i * (i + 1) / 2 > e) --i;
  j = e - i * (i + 1) / 2;
}

// sum_d x_d y_d e^{bx_d - by_d} over DK channels, fp32 throughout (the diagonal sub-chunks, where the
// exponent is <= 0 for every channel without a reference row).
template <int DK>
__device__ __forceinline__ float decayed_dot(const bf16* x, const bf16* y, const float* bx, const float* by) {
  float s = 0.0f;
#pragma unroll 8
  for (int ch = 0; ch < DK; ch += 2) {
    const float2 xv = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(x + ch));
    const float2 yv = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(y + ch));
    const float2 p = *reinterpret_cast<const float2*>(bx + ch), r = *reinterpret_cast<const float2*>(by + ch);
    s += xv.x * yv.x * __expf(p.x - r.x) + xv.y * yv.y * __expf(p.y - r.y);
  }
  return s;
}

// A = scale sum_d q_id k_jd e^{b_id - b_jd} for j <= i, 0 above, as bf16 into as [64][kScoreStride]; qs, ks
// [64][DK + 8] bf16 and bs the cumulative decays. Below the diagonal (warps 0-5, one sub-chunk pair each,
// FLA's secondary chunking): with r = b at the first row of sub-chunk I, A_IJ = (q_I e^{b_I - r})
// (k_J e^{r - b_J})^T on tensor cores, both exponents <= 0 so nothing overflows. The four diagonal
// sub-chunks (every thread) pair by pair in fp32. Needs 8 or 16 warps; the caller syncs before reading `as`.
template <int DK, int THREADS>
__device__ __forceinline__ void channel_scores(const bf16* qs, const bf16* ks, const float* bs, float scale, bf16* as) {
  constexpr int kLdk = DK + 8, kLdb = decay_ld<DK>();
  static_assert(THREADS == 256 || THREADS == 512, "six warps for the pairs below the diagonal, all for the diagonal");
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  if (warp < 6) {
    int I, J;
    lower_pair(warp, I, J);
    const float* ref = bs + kSub * I * kLdb;
    float acc[2][4] = {};
#pragma unroll
    for (int kk = 0; kk < DK / 16; ++kk) {
      const int ch = 16 * kk + 2 * t;
      uint32_t a[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int i = kSub * I + g + 8 * (e % 2), c = ch + 8 * (e / 2);
        a[e] = decayed_pair(qs + i * kLdk + c, bs + i * kLdb + c, ref + c);
      }
#pragma unroll
      for (int n = 0; n < 2; ++n) {
        const int j = kSub * J + 8 * n + g;
        const uint32_t b0 = decayed_pair(ks + j * kLdk + ch, ref + ch, bs + j * kLdb + ch);
        const uint32_t b1 = decayed_pair(ks + j * kLdk + ch + 8, ref + ch + 8, bs + j * kLdb + ch + 8);
        tc::mma_16x8x16(acc[n], a, b0, b1);
      }
    }
#pragma unroll
    for (int n = 0; n < 2; ++n)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int i = kSub * I + g + 8 * half, j = kSub * J + 8 * n + 2 * t;
        *reinterpret_cast<uint32_t*>(as + i * kScoreStride + j) =
            tc::pack_bf16x2(scale * acc[n][2 * half], scale * acc[n][2 * half + 1]);
      }
  }
  // The 4 x 136 entries on and below the diagonals spread over every thread, the last warp (no pair below the
  // diagonal) taking one more: of 256 threads 2 each and a third there, of 512 one each and a second there. Then
  // the zeros above.
  constexpr int kLower = kSub * (kSub + 1) / 2, kUpper = kSub * (kSub - 1) / 2;
  static_assert(4 * kLower <= (4 * kLower / THREADS) * THREADS + 32, "one more entry for one warp only");
  for (int e = THREADS - 1 - threadIdx.x; e < 4 * kLower; e += THREADS) {
    const int blk = e / kLower;
    int i, j;
    triangle_entry(e % kLower, i, j);
    i += kSub * blk;
    j += kSub * blk;
    as[i * kScoreStride + j] =
        __float2bfloat16(scale * decayed_dot<DK>(qs + i * kLdk, ks + j * kLdk, bs + i * kLdb, bs + j * kLdb));
  }
  for (int e = threadIdx.x; e < 4 * kUpper; e += THREADS) {
    const int blk = e / kUpper;
    int i, j;
    triangle_entry(e % kUpper, j, i);  // entry of the strict upper triangle column by column: (j - 1, i), i < j
    ++j;
    as[(kSub * blk + i) * kScoreStride + kSub * blk + j] = __float2bfloat16(0.0f);
  }
}

}  // namespace gla_ch
}  // namespace seqbench
