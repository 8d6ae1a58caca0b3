// The per-channel GLA decay gradient (GLA Sec. 4.3) inside the backward's chunk kernel: dL/dg_t = sum_{s >= t}
// r_s per key channel, r = q dq - k dk, 0 at t = 0. Checked against GlaKernels::cpu() in
// test_gpu_gla_channel_bf16.cpp (GlaChannelVariant::fused_decay_grad).
//
// Split at the chunk's end: the chunk's own tokens come from a [64][ld] fp32 tile of r, everything after it is
// sum_v S_end[d, v] R[d, v], with S_end the state at the chunk's end (the next chunk's start state) and R = dL/dS
// there from the later chunks alone. That sum is dL/dg at the next chunk's first token (e^{g} S dS summed over
// the values), which is what the later chunks' r add up to; so no chunk waits on another and r never goes
// through global memory (FLA's chunk_gla_bwd forms its dg the same way).
#pragma once
#include <cuda_bf16.h>

#include <cstdint>

#include "mixers/gla/gla_channel_tc_internal.cuh"

namespace seqbench {
namespace gla_ch {

// One row of the next chunk's start state per THREADS / DK adjacent threads, DV / (THREADS / DK) values each,
// loaded (16 bytes at a time) well before it is needed so that the global latency hides under other work.
template <int DK, int DV, int THREADS>
struct NextStateSlice {
  static constexpr int kParts = THREADS / DK, kCols = DV / kParts, kPieces = kCols / 8;
  static_assert(THREADS % DK == 0 && kParts <= 32 && kCols % 8 == 0, "whole 16-byte pieces per thread");
  uint4 pieces[kPieces];

  // next: the bf16 [DK][DV] state at the next chunk's start, or null for the last chunk (nothing comes after it).
  __device__ __forceinline__ void load(const bf16* next) {
    const int row = threadIdx.x / kParts, part = threadIdx.x % kParts;
#pragma unroll
    for (int p = 0; p < kPieces; ++p)
      pieces[p] = next ? *reinterpret_cast<const uint4*>(next + static_cast<int64_t>(row) * DV + part * kCols + 8 * p)
                       : make_uint4(0u, 0u, 0u, 0u);
  }

  // later[d] <- sum_v S_end[d][v] R[d][v] with R the bf16 [DK][LDR] tile rs in shared memory. Every thread calls it.
  template <int LDR>
  __device__ __forceinline__ void dot_into(const bf16* rs, float* later) const {
    const int row = threadIdx.x / kParts, part = threadIdx.x % kParts;
    const bf16* r = rs + row * LDR + part * kCols;
    float sum = 0.0f;
#pragma unroll
    for (int p = 0; p < kPieces; ++p) {
      const uint4 rv = *reinterpret_cast<const uint4*>(r + 8 * p);
      const __nv_bfloat162* s2 = reinterpret_cast<const __nv_bfloat162*>(&pieces[p]);
      const __nv_bfloat162* r2 = reinterpret_cast<const __nv_bfloat162*>(&rv);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float2 a = __bfloat1622float2(s2[e]), b = __bfloat1622float2(r2[e]);
        sum += a.x * b.x + a.y * b.y;
      }
    }
#pragma unroll
    for (int offset = kParts / 2; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    if (part == 0) later[row] = sum;
  }
};

// dg[t] <- later + sum_{s >= t in the chunk} r_s per channel for the chunk's tokens t0 + i < L (0 at t = 0), from
// the fp32 r tile rt [64][LDB] (summed in place) and later [DK]; dg points at the head's first token, tokens
// `stride` apart. THREADS / DK threads share a channel, each a run of rows. Every thread calls it after a barrier
// that makes rt and later visible.
template <int DK, int LDB, int THREADS>
__device__ __forceinline__ void write_chunk_decay_grad(float* rt, const float* later, float* dg, int64_t stride, int t0,
                                                       int L) {
  constexpr int kParts = THREADS / DK, kRows = kChunk / kParts;
  static_assert(THREADS % DK == 0 && kChunk % kParts == 0, "whole runs of rows per thread");
  const int ch = threadIdx.x % DK, part = threadIdx.x / DK;
  float* col = rt + part * kRows * LDB + ch;
  float run = 0.0f;
#pragma unroll 8
  for (int i = kRows - 1; i >= 0; --i) {
    run += col[i * LDB];
    col[i * LDB] = run;
  }
  __syncthreads();  // every run's sum (at its first row) is in
  float offset = later[ch];
  for (int p = part + 1; p < kParts; ++p) offset += rt[p * kRows * LDB + ch];
#pragma unroll 8
  for (int i = 0; i < kRows; ++i) {
    const int t = t0 + part * kRows + i;
    if (t < L) dg[t * stride + ch] = t == 0 ? 0.0f : col[i * LDB] + offset;
  }
}

}  // namespace gla_ch
}  // namespace seqbench
