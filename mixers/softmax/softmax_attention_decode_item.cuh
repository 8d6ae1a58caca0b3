// A decode block's geometry (its row slices, tile and direct-step rows) and the end of an item: o =
// sum_g exp2(m_g - M) o_g / sum_g exp2(m_g - M) l_g over the block's groups of one head (online
// softmax, Milakov & Gimelshein 2018), written out or kept as a split's partial for the fused merge.
// Checked against softmax_attention_decode_cpu in test_gpu_softmax.cpp.
#pragma once
#include <cmath>
#include <cstdint>

#include "mixers/softmax/softmax_attention_decode_kernel.cuh"
#include "mixers/softmax/softmax_attention_decode_merge.cuh"
#include "mixers/softmax/softmax_attention_decode_plan.h"
#include "ops/cuda/element_type.cuh"

namespace seqbench {
namespace decode {

// A block's geometry: G groups of LPR lanes each take kKeysPerGroup rows of a tile, so a stage
// (the K and V rows of one tile) is 16 KiB on every path; the plan picks how many stay in flight.
template <class T, int LPR, int PPL, bool kVector>
struct Config {
  using Slice = RowSlice<T, LPR, PPL, kVector>;
  static constexpr int kGroups = kThreads / LPR;
  // Plain copies keep rows of kAttentionMaxHeadDim elements: one key a group in fp32.
  static constexpr int kKeysPerGroup = kVector ? 2 / PPL : 4 / static_cast<int>(sizeof(T));
  // Rows a group loads at once on the direct path, for kRows rows of 16 bytes a lane: with kRows 4,
  // 8 16-byte loads of K and V in flight per thread, about the registers of the shared path's loop.
  template <int kRows>
  static constexpr int kDirectRows = kRows / (kVector ? PPL : 2) > 1 ? kRows / (kVector ? PPL : 2) : 1;
  static constexpr int kTileRows = kGroups * kKeysPerGroup;
  static constexpr int kStageElems = 2 * kTileRows * Slice::kRowElems;
  static constexpr size_t kStageBytes = kStageElems * sizeof(T);
  static_assert(kStageBytes <= kMaxStageBytes, "the plan counts stages of at most kMaxStageBytes");
  // The groups' outputs at an item's end, and later the merge's per-split weights.
  static constexpr int kCombineFloats =
      kThreads * Slice::kFloats > 2 * kMaxMergedPartials ? kThreads* Slice::kFloats : 2 * kMaxMergedPartials;
};

// The end of an item: for each head of the column, its groups' softmaxes combined through shared
// memory, then either the output (one split) or a partial result; the block that counts a column's
// last partial merges them. The counter goes back to zero there, so the next call (or graph replay)
// needs no memset. kShareSplits: the merge may let lanes share a piece (merge_partials).
template <class T, class Slice, int G, bool kShareSplits>
__device__ void finish_item(const DecodeWork& w, const DecodeTensors<T>& t, int column, int split, int group,
                            const Slice& slice, const RunningSoftmax<Slice::kFloats>& st, float* o_s, float* m_s,
                            float* l_s, int* last_s) {
  if (slice.sub == 0) m_s[group] = st.m, l_s[group] = st.l;
  if constexpr (Slice::kPieces) {
    // float4 stores: scalar ones at a lane stride of kVec floats met the same banks 4 to 8 times.
#pragma unroll
    for (int e = 0; e < Slice::kFloats; e += 4)
      if (slice.index(e) < w.head_dim)
        *reinterpret_cast<float4*>(o_s + group * Slice::kRowElems + slice.index(e)) =
            make_float4(st.o[e], st.o[e + 1], st.o[e + 2], st.o[e + 3]);
  } else {
#pragma unroll
    for (int e = 0; e < Slice::kFloats; ++e)
      if (slice.index(e) < w.head_dim) o_s[group * Slice::kRowElems + slice.index(e)] = st.o[e];
  }
  __syncthreads();
  const int heads = 1 << w.head_shift, D = w.head_dim;
  for (int i = threadIdx.x; i < (D << w.head_shift); i += kThreads) {
    const int j = i / D, d = i - j * D;  // head j of the column: groups j, j + heads, ...
    float m = -INFINITY, l = 0.0f, acc = 0.0f;
    for (int g = j; g < G; g += heads) m = fmaxf(m, m_s[g]);
    for (int g = j; g < G; g += heads) {
      const float scale = exp2f(m_s[g] - m);  // groups without keys: 0 * 0
      l += l_s[g] * scale;
      acc += o_s[g * Slice::kRowElems + d] * scale;
    }
    const int64_t pair = w.first_pair(column) + j;
    if (w.splits == 1) {
      t.out[pair * D + d] = from_float<T>(acc / l);
    } else {
      const int64_t slot = pair * w.splits + split;
      t.partial_o[slot * D + d] = acc;
      if (d == 0) t.partial_ml[slot] = make_float2(m, l);
    }
  }
  if (w.splits == 1) return;
  __threadfence();  // this block's partials are visible device-wide before they are counted
  __syncthreads();
  if (threadIdx.x == 0) {
    const bool last = atomicAdd(&t.arrivals[column], 1u) == static_cast<unsigned>(w.splits - 1);
    if (last) t.arrivals[column] = 0;
    __threadfence();  // and the others' partials are read only after they were counted
    *last_s = last;
  }
  __syncthreads();
  // Two output pieces a thread where registers allow (the main loop's 80 suffice up to 16 lanes a row).
  constexpr int kMergePieces = Slice::kLanes < 32 ? 2 : 1;
  if (*last_s) merge_partials<kMergePieces, kShareSplits>(w, t, column, reinterpret_cast<float2*>(o_s));
  // Shared memory written here is next written in the following item's finish, after at least one
  // more tile and its barrier.
}

}  // namespace decode
}  // namespace seqbench
