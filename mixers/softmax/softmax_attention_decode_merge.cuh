// The fused merge of a decode's split-K partials: o = sum_s exp2(m_s - M) o_s / sum_s exp2(m_s - M) l_s
// per head (flash decoding, Dao et al. 2023), in a fixed order so the bits do not depend on timing.
// Checked against softmax_attention_decode_cpu in test_gpu_softmax.cpp (cases with many splits).
#pragma once
#include <cmath>
#include <cstdint>

#include "mixers/softmax/softmax_attention_decode_kernel.cuh"
#include "ops/cuda/element_type.cuh"
#include "ops/cuda/warp_reduce.cuh"

namespace seqbench {
namespace decode {

// acc += weight * the kWidth floats at from (a float4 row piece or one float), read from L2: the partials were
// written by other SMs.
template <int kWidth>
__device__ __forceinline__ void add_weighted_piece(float (&acc)[kWidth], float weight, const float* from) {
  float x[kWidth];
  if constexpr (kWidth == 4) {
    const float4 v = __ldcg(reinterpret_cast<const float4*>(from));
    x[0] = v.x, x[1] = v.y, x[2] = v.z, x[3] = v.w;
  } else {
    x[0] = __ldcg(from);
  }
#pragma unroll
  for (int e = 0; e < kWidth; ++e) acc[e] += weight * x[e];
}

// out = sum over splits of weight * o for kWidth neighbouring elements (a float4 row piece or one
// float), kPieces pieces a thread at once: the loads do not depend on each other, so 8 * kPieces are
// in flight.
template <int kWidth, int kPieces, class T>
__device__ void merge_outputs(const DecodeWork& w, const float* o, const float2* weight_s, T* out) {
  const int S = w.splits, D = w.head_dim, pieces = D / kWidth, total = pieces << w.head_shift;
  for (int first = threadIdx.x; first < total; first += kPieces * kThreads) {
    int j[kPieces], at[kPieces];
    const float* from[kPieces];
#pragma unroll
    for (int p = 0; p < kPieces; ++p) {
      const int i = min(first + p * kThreads, total - 1);  // a piece past the end repeats the last, unstored
      j[p] = i / pieces, at[p] = (i - j[p] * pieces) * kWidth;
      from[p] = o + static_cast<int64_t>(j[p]) * S * D + at[p];
    }
    float acc[kPieces][kWidth] = {};
#pragma unroll 8
    for (int sp = 0; sp < S; ++sp) {
#pragma unroll
      for (int p = 0; p < kPieces; ++p) add_weighted_piece(acc[p], weight_s[j[p] * S + sp].x, from[p] + sp * D);
    }
#pragma unroll
    for (int p = 0; p < kPieces; ++p)
      if (first + p * kThreads < total)
#pragma unroll
        for (int e = 0; e < kWidth; ++e) out[j[p] * D + at[p] + e] = from_float<T>(acc[p][e]);
  }
}

// The same sums when a column has fewer pieces than the block has threads (few heads a block, as at
// one batch row): `share` neighbouring lanes (a power of two, at most 32) take one piece, each every
// share-th split with kInFlight loads in flight, and a butterfly adds their sums, so every thread
// has loads in flight instead of the few with a piece walking all splits alone. Fixed lanes and a
// fixed butterfly: the bits do not depend on timing either.
template <int kWidth, int kInFlight, class T>
__device__ void merge_outputs_shared_splits(const DecodeWork& w, const float* o, const float2* weight_s, T* out,
                                            int share) {
  const int S = w.splits, D = w.head_dim, pieces = D / kWidth, total = pieces << w.head_shift;
  const int part = threadIdx.x & (share - 1), busy = static_cast<int>(threadIdx.x) < share * total;
  const int i = busy ? threadIdx.x / share : total - 1;  // idle lanes (none past a warp) load and store nothing
  const int j = i / pieces, at = (i - j * pieces) * kWidth;
  const float* from = o + static_cast<int64_t>(j) * S * D + at;
  float acc[kWidth] = {};
#pragma unroll kInFlight
  for (int sp = busy ? part : S; sp < S; sp += share) add_weighted_piece(acc, weight_s[j * S + sp].x, from + sp * D);
  for (int offset = share / 2; offset > 0; offset >>= 1)  // the whole warp: share is the same in every lane
#pragma unroll
    for (int e = 0; e < kWidth; ++e) acc[e] += __shfl_xor_sync(0xffffffffu, acc[e], offset);
  if (busy && part == 0)
#pragma unroll
    for (int e = 0; e < kWidth; ++e) out[j * D + at + e] = from_float<T>(acc[e]);
}

// Lanes a piece of the merge: 1 when the column has at least a piece a thread, otherwise the largest
// power of two (at most `limit`, itself at most a warp) that keeps every lane's piece in range.
__device__ __forceinline__ int merge_share(int total_pieces, int limit) {
  int share = 1;
  while (share < limit && 2 * share * total_pieces <= kThreads) share *= 2;
  return share;
}

// The partial results of one column's heads, merged in a fixed order (so the output does not depend
// on which block came last): first every split's weight exp2(m - M) / L per head, a warp a head, in
// shared memory (weight_s: 2 * kMaxMergedPartials floats), then the weighted sums. __ldcg: the
// partials were written by other SMs; read them from L2, not L1.
template <int kPieces, bool kShareSplits, class T>
__device__ void merge_partials(const DecodeWork& w, const DecodeTensors<T>& t, int column, float2* weight_s) {
  const int S = w.splits, heads = 1 << w.head_shift;
  const int64_t first = static_cast<int64_t>(w.first_pair(column)) * S;  // the column's first (pair, split)
  for (int i = threadIdx.x; i < heads * S; i += kThreads) weight_s[i] = __ldcg(t.partial_ml + first + i);
  __syncthreads();
  const int lane = threadIdx.x % 32;
  for (int j = threadIdx.x / 32; j < heads; j += kThreads / 32) {
    float2* ml = weight_s + j * S;  // each lane reads and rewrites only its own splits
    float m = -INFINITY, l = 0.0f;
    for (int sp = lane; sp < S; sp += 32) m = fmaxf(m, ml[sp].x);
    m = warp_max(m);
    for (int sp = lane; sp < S; sp += 32) l += ml[sp].y * exp2f(ml[sp].x - m);
    l = warp_sum(l);
    for (int sp = lane; sp < S; sp += 32) ml[sp].x = exp2f(ml[sp].x - m) / l;
  }
  __syncthreads();
  const float* o = t.partial_o + first * w.head_dim;
  T* out = t.out + static_cast<int64_t>(w.first_pair(column)) * w.head_dim;
  // kPieces float4 pieces of 8 splits a thread are the registers of 16 loads in flight: so many
  // splits of one piece when lanes share it. kShareSplits false: pieces never shared (the shared-
  // memory pipeline's kernel, whose registers the second variant would spill).
  constexpr int kInFlight = 8 * kPieces;
  if (w.head_dim % 4 == 0) {
    const int share = kShareSplits ? merge_share((w.head_dim / 4) << w.head_shift, w.merge_lanes) : 1;
    share > 1 ? merge_outputs_shared_splits<4, kInFlight>(w, o, weight_s, out, share)
              : merge_outputs<4, kPieces>(w, o, weight_s, out);
  } else {
    const int share = kShareSplits ? merge_share(w.head_dim << w.head_shift, w.merge_lanes) : 1;
    share > 1 ? merge_outputs_shared_splits<1, kInFlight>(w, o, weight_s, out, share)
              : merge_outputs<1, kPieces>(w, o, weight_s, out);
  }
}

}  // namespace decode
}  // namespace seqbench
