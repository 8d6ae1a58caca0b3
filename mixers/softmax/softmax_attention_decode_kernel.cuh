// One-token decode, o = sum_j softmax_j(q.k_j / sqrt(D)) v_j over a cache split into key ranges:
// each range of a group of heads gives (m, l, unnormalised o) per head by online softmax (Milakov &
// Gimelshein 2018), and the last range of the group to finish merges them in the same launch (flash
// decoding, Dao et al. 2023). The rows come straight from global memory into registers (direct
// loads) or through shared-memory stages; the merge is in softmax_attention_decode_merge.cuh.
// Checked against softmax_attention_decode_cpu in test_gpu_softmax.cpp.
#pragma once
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>

#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "mixers/softmax/softmax_attention_decode_plan.h"
#include "ops/cuda/element_type.cuh"
#include "ops/cuda/hopper/async_copy.cuh"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace decode {

constexpr int kThreads = 256;

// How the keys are cut. A column is 1 << head_shift neighbouring heads of one batch row, whose rows
// of a token are one contiguous run of the cache; every column is split into `splits` token ranges of
// equal size; item i is range i / columns of column i % columns, so blocks running side by side read
// neighbouring columns of the same tokens. Block p takes items p, p + gridDim.x, ...
struct DecodeWork {
  int columns, splits, items;  // items = columns * splits
  int len, heads, head_dim, head_shift, stages;
  int merge_lanes;   // the most lanes that share a piece of the merge (a power of two, at most 32)
  int64_t capacity;  // tokens per batch row of the cache
  float scale_log2;  // 1/sqrt(D) * log2(e): scores in the exp2 domain
  __device__ int split_begin(int split) const { return static_cast<int>(int64_t{len} * split / splits); }
  __device__ int first_pair(int column) const { return column << head_shift; }
  // Elements from the cache's start to token 0 of the column's first head.
  __device__ int64_t column_head(int column) const {
    const int pair = first_pair(column), b = pair / heads, h = pair - b * heads;
    return (static_cast<int64_t>(b) * capacity * heads + h) * head_dim;
  }
};

template <class T>
struct DecodeTensors {
  const T* q;  // [pairs, D]
  const T* k;  // [batch, capacity, heads, D]
  const T* v;
  T* out;              // [pairs, D]
  float2* partial_ml;  // [pairs][splits]: m, l of each range (splits > 1)
  float* partial_o;    // [pairs][splits][D]: its unnormalised output, 16-byte aligned rows when D % 4 == 0
  unsigned* arrivals;  // [columns]: ranges finished so far; zero between calls
};

// The tiles of a block, in order: an item's tiles are consecutive, items advance by gridDim.x. A
// tile is kTileRows rows: tile_tokens tokens times the column's heads (row r: token r >> head_shift,
// head r & (heads - 1)), so every group keeps to one head whatever the tile's place.
template <int kTileRows>
struct TileCursor {
  int item, column, key, end;  // key, end: tokens
  int64_t head;                // elements from the cache's start to token 0 of the column's first head
  __device__ void enter(const DecodeWork& w, int it) {
    item = it;
    if (it >= w.items) return;
    const int split = it / w.columns;
    column = it - split * w.columns;
    key = w.split_begin(split), end = w.split_begin(split + 1);
    head = w.column_head(column);
  }
  __device__ static int tile_tokens(const DecodeWork& w) { return kTileRows >> w.head_shift; }
  __device__ bool done(const DecodeWork& w) const { return item >= w.items; }
  __device__ int rows(const DecodeWork& w) const { return min(tile_tokens(w), end - key) << w.head_shift; }
  __device__ bool last_of_item(const DecodeWork& w) const { return key + tile_tokens(w) >= end; }
  __device__ void advance(const DecodeWork& w) {
    key += tile_tokens(w);
    if (key >= end) enter(w, item + static_cast<int>(gridDim.x));
  }
};

// cp.async.wait_group takes its count as an immediate; the stage count is chosen at run time.
__device__ __forceinline__ void wait_async_pending(int pending) {
  switch (pending) {
#define SEQBENCH_DECODE_WAIT(n) \
  case n:                       \
    tc::wait_async<n>();        \
    break;
    SEQBENCH_DECODE_WAIT(1)
    SEQBENCH_DECODE_WAIT(2)
    SEQBENCH_DECODE_WAIT(3)
    SEQBENCH_DECODE_WAIT(4)
    SEQBENCH_DECODE_WAIT(5)
    SEQBENCH_DECODE_WAIT(6)
    SEQBENCH_DECODE_WAIT(7)
    SEQBENCH_DECODE_WAIT(8)
    SEQBENCH_DECODE_WAIT(9)
    SEQBENCH_DECODE_WAIT(10)
#undef SEQBENCH_DECODE_WAIT
    default:  // 0, and never fewer than needed
      tc::wait_async<0>();
  }
}

// A bf16 is the top half of the fp32 of the same value, so each 32-bit word splits into two floats
// exactly (element 0 in the low half); taking words, not bf16 pairs, keeps the 16-byte load whole.
__device__ __forceinline__ void unpack16(const uint4& raw, float* x, __nv_bfloat16) {
  const uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
  for (int i = 0; i < 4; ++i)
    x[2 * i] = __uint_as_float(words[i] << 16), x[2 * i + 1] = __uint_as_float(words[i] & 0xffff0000u);
}
__device__ __forceinline__ void unpack16(const uint4& raw, float* x, float) {
  x[0] = __uint_as_float(raw.x), x[1] = __uint_as_float(raw.y), x[2] = __uint_as_float(raw.z),
  x[3] = __uint_as_float(raw.w);
}

// Direct-load L2 hints (DecodeTuning::direct_hint), bits of a template argument: the cache is read
// once, so its lines may go first when L2 needs room (the partials and counters stay), and L2 may
// fetch a whole 256-byte block from DRAM on a sector's miss (the warp's neighbours read the rest).
constexpr int kHintEvictFirst = 1, kHintPrefetch256 = 2;

// A 16-byte load of data read once by this kernel and not written during it: the non-coherent path,
// and no L1 line kept for it; kHint adds the L2 hints above (policy: an evict-first cache policy).
template <int kHint = 0>
__device__ __forceinline__ uint4 load_streaming_16(const void* from, uint64_t policy = 0) {
  uint4 r;
  if constexpr (kHint == (kHintEvictFirst | kHintPrefetch256)) {
    asm("ld.global.nc.L1::no_allocate.L2::cache_hint.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4], %5;\n"
        : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
        : "l"(from), "l"(policy));
  } else if constexpr (kHint == kHintEvictFirst) {
    asm("ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%0, %1, %2, %3}, [%4], %5;\n"
        : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
        : "l"(from), "l"(policy));
  } else if constexpr (kHint == kHintPrefetch256) {
    asm("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];\n"
        : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
        : "l"(from));
  } else {
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];\n"
        : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
        : "l"(from));
  }
  return r;
}

// One lane's share of a head_dim row, shared by LPR lanes. kVector: PPL 16-byte pieces per lane,
// piece sub + LPR * p (neighbouring lanes read neighbouring 16 bytes: whole 32-byte sectors from
// global memory, no bank conflicts in shared memory); lanes past the row's end hold zeros.
// Otherwise strided scalars sub + LPR * e, for any head_dim.
template <class T, int LPR, int PPL, bool kVector>
struct RowSlice {
  static constexpr int kLanes = LPR;
  static constexpr bool kPieces = kVector;  // runs of kVec elements, each in or out of the row whole
  static constexpr int kVec = 16 / sizeof(T);
  static constexpr int kFloats = kVector ? PPL * kVec : kAttentionMaxHeadDim / LPR;  // per lane
  static constexpr int kRowElems = LPR * kFloats;                                    // a row's stride in shared memory
  // A lane's share as it came from global memory (fetch), turned into floats only when used
  // (unpack), so that a bf16 row in flight takes half the registers.
  struct Raw {
    uint4 piece[kVector ? PPL : 1];
    float x[kVector ? 1 : kFloats];
  };
  int sub, D;
  __device__ int index(int e) const { return kVector ? (sub + LPR * (e / kVec)) * kVec + e % kVec : sub + LPR * e; }
  __device__ void load(const T* row, float (&x)[kFloats]) const {
    if constexpr (kVector) {
#pragma unroll
      for (int p = 0; p < PPL; ++p) {
        const int piece = sub + LPR * p;
        if (piece * kVec < D) {
          unpack16(*reinterpret_cast<const uint4*>(row + piece * kVec), x + p * kVec, T{});
        } else {
#pragma unroll
          for (int e = 0; e < kVec; ++e) x[p * kVec + e] = 0.0f;
        }
      }
    } else {
#pragma unroll
      for (int e = 0; e < kFloats; ++e) x[e] = index(e) < D ? to_float(row[index(e)]) : 0.0f;
    }
  }
  template <int kHint = 0>
  __device__ void fetch(const T* row, Raw& raw, uint64_t policy = 0) const {
    if constexpr (kVector) {
#pragma unroll
      for (int p = 0; p < PPL; ++p) {
        const int piece = sub + LPR * p;
        raw.piece[p] = piece * kVec < D ? load_streaming_16<kHint>(row + piece * kVec, policy) : make_uint4(0, 0, 0, 0);
      }
    } else {
#pragma unroll
      for (int e = 0; e < kFloats; ++e) raw.x[e] = index(e) < D ? to_float(row[index(e)]) : 0.0f;
    }
  }
  __device__ void unpack(const Raw& raw, float (&x)[kFloats]) const {
    if constexpr (kVector) {
#pragma unroll
      for (int p = 0; p < PPL; ++p) unpack16(raw.piece[p], x + p * kVec, T{});
    } else {
#pragma unroll
      for (int e = 0; e < kFloats; ++e) x[e] = raw.x[e];
    }
  }
};

// A 16-byte cp.async that lets L2 read kPrefetch bytes around it from DRAM (0: no hint), so that
// short runs of the cache become fewer, longer DRAM reads.
template <int kPrefetch>
__device__ __forceinline__ void copy_async_16_hinted(void* smem, const void* gmem) {
  const uint32_t to = tc::shared_address(smem);
  if constexpr (kPrefetch == 256) {
    asm volatile("cp.async.cg.shared.global.L2::256B [%0], [%1], 16;\n" ::"r"(to), "l"(gmem));
  } else if constexpr (kPrefetch == 128) {
    asm volatile("cp.async.cg.shared.global.L2::128B [%0], [%1], 16;\n" ::"r"(to), "l"(gmem));
  } else if constexpr (kPrefetch == 64) {
    asm volatile("cp.async.cg.shared.global.L2::64B [%0], [%1], 16;\n" ::"r"(to), "l"(gmem));
  } else {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(to), "l"(gmem));
  }
}

// Copies the n rows of a tile (tokens from `key`, each with the column's 1 << head_shift heads) of
// the K and V caches into a stage: 16-byte cp.async pieces that stay in flight while earlier stages
// are consumed, or (any head_dim, any alignment) plain copies. Consecutive threads take consecutive
// pieces, so with all heads of a token in the column a tile is one contiguous run of the cache.
template <class T, int kRowElems, bool kVector, int kPrefetch>
__device__ void load_tile(const T* k_head, const T* v_head, int64_t row_stride, int key, int n, int head_shift, int D,
                          T* k_s, T* v_s) {
  constexpr int kVec = 16 / sizeof(T), kUnit = kVector ? kVec : 1, kUnitsPerRow = kRowElems / kUnit;
  const int head_mask = (1 << head_shift) - 1;
  for (int i = threadIdx.x; i < n * kUnitsPerRow; i += kThreads) {
    const int r = i / kUnitsPerRow, c = (i % kUnitsPerRow) * kUnit;  // powers of two: shifts
    if (c >= D) continue;
    const int64_t from = (key + (r >> head_shift)) * row_stride + (r & head_mask) * D + c;
    if constexpr (kVector) {
      copy_async_16_hinted<kPrefetch>(k_s + r * kRowElems + c, k_head + from);
      copy_async_16_hinted<kPrefetch>(v_s + r * kRowElems + c, v_head + from);
    } else {
      k_s[r * kRowElems + c] = k_head[from];
      v_s[r * kRowElems + c] = v_head[from];
    }
  }
}

// The bulk path's copy of a tile of `tokens` tokens, by the first warp: a token's rows of the
// column's `heads` heads are one run of the cache and of the stage (rows exactly D long), and when
// the column holds all H heads of its batch row the whole tile is one run. Lane 0 arms the stage's
// barrier with the bytes of both copies; a copy that lands first only takes the count below zero
// until then, which does not complete the phase.
template <class T>
__device__ void bulk_load_tile(const T* k_head, const T* v_head, int64_t row_stride, int key, int tokens, int heads,
                               int D, T* k_s, T* v_s, uint64_t* landed, uint64_t policy) {
  const int lane = threadIdx.x % 32;
  const int64_t run = int64_t{heads} * D;
  const bool whole = run == row_stride;
  const int copies = whole ? 1 : tokens;
  const uint32_t bytes = static_cast<uint32_t>((whole ? run * tokens : run) * sizeof(T));
  if (lane == 0) hopper::barrier_arrive_expect_bytes(landed, static_cast<uint32_t>(2 * run * tokens * sizeof(T)));
  for (int i = lane; i < copies; i += 32) {
    const int64_t from = (key + i) * row_stride;
    hopper::bulk_load(k_s + i * run, k_head + from, bytes, landed, policy);
    hopper::bulk_load(v_s + i * run, v_head + from, bytes, landed, policy);
  }
}

// One group's running softmax over its keys: max m and sum l in the exp2 domain, o unnormalised.
template <int kFloats>
struct RunningSoftmax {
  float m = -INFINITY, l = 0.0f, o[kFloats] = {};
};

// One step of a group's online softmax over its rows first + G * u, u < U, of n (rows at or past n
// are masked), in two halves so that the direct path can reload K between them: softmax_scores
// takes key_row(u, x), the lane's share of row u's K as floats, for any row index (callers clamp
// theirs to n - 1), and gives the scores (-inf when masked); the butterfly over the group's kLanes
// lanes leaves every lane with the same score, bit for bit. softmax_values then takes value_row.
template <int U, int G, int kLanes, int kFloats, class KeyRow>
__device__ __forceinline__ void softmax_scores(int first, int n, const float (&qv)[kFloats], KeyRow key_row,
                                               float (&s)[U]) {
#pragma unroll
  for (int u = 0; u < U; ++u) {
    float kx[kFloats];
    key_row(u, kx);
    float dot = 0.0f;
#pragma unroll
    for (int e = 0; e < kFloats; ++e) dot += qv[e] * kx[e];
#pragma unroll
    for (int offset = kLanes / 2; offset > 0; offset >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
    s[u] = first + G * u < n ? dot : -INFINITY;
  }
}
template <int U, int kFloats, class ValueRow>
__device__ __forceinline__ void softmax_values(const float (&s)[U], RunningSoftmax<kFloats>& st, ValueRow value_row) {
  float m_new = st.m;
#pragma unroll
  for (int u = 0; u < U; ++u) m_new = fmaxf(m_new, s[u]);
  if (m_new == -INFINITY) return;  // no key of this step for this group
  const float correction = exp2f(st.m - m_new);
  st.l *= correction;
#pragma unroll
  for (int e = 0; e < kFloats; ++e) st.o[e] *= correction;
#pragma unroll
  for (int u = 0; u < U; ++u) {
    const float p = exp2f(s[u] - m_new);  // 0 for masked rows
    float vx[kFloats];
    value_row(u, vx);
    st.l += p;
#pragma unroll
    for (int e = 0; e < kFloats; ++e) st.o[e] += p * vx[e];
  }
  st.m = m_new;
}
template <int U, int G, int kLanes, int kFloats, class KeyRow, class ValueRow>
__device__ __forceinline__ void softmax_step(int first, int n, const float (&qv)[kFloats], RunningSoftmax<kFloats>& st,
                                             KeyRow key_row, ValueRow value_row) {
  float s[U];
  softmax_scores<U, G, kLanes>(first, n, qv, key_row, s);
  softmax_values(s, st, value_row);
}

// Group g takes rows g, g + G, ... of a tile of n rows (n <= G * kKeysPerGroup): keys of one head,
// since heads per block is a power of two that divides G.
template <class T, class Slice, int kKeysPerGroup, int G>
__device__ void consume_tile(const T* k_s, const T* v_s, int n, int group, const Slice& slice,
                             const float (&qv)[Slice::kFloats], RunningSoftmax<Slice::kFloats>& st) {
  auto row = [&](int u) { return min(group + G * u, n - 1) * Slice::kRowElems; };  // clamped, masked
  softmax_step<kKeysPerGroup, G, Slice::kLanes>(
      group, n, qv, st, [&](int u, float(&x)[Slice::kFloats]) { slice.load(k_s + row(u), x); },
      [&](int u, float(&x)[Slice::kFloats]) { slice.load(v_s + row(u), x); });
}

// The direct path's step: a group's rows first + G * u, u < U, of an item's n rows (row r: token r
// >> head_shift, head r & (heads - 1), from k and v at the item's first token and head). fetch
// issues all 2 U loads, K first (the scores need them first); consume uses them. A warp's lanes read
// neighbouring pieces of neighbouring rows (one token's run of the column's heads when the column
// holds several): whole 32-byte sectors, each read once, straight into registers. The halves
// (fetch_keys, fetch_values, scores, values) let the staggered loop reload K while V is used.
// kHint: the loads' L2 hints (kHintEvictFirst, kHintPrefetch256), policy the evict-first policy.
template <class T, class Slice, int U, int G, int kHint = 0>
struct DirectStep {
  typename Slice::Raw k_raw[U], v_raw[U];
  __device__ static void offsets(int64_t row_stride, int head_shift, int first, int n, const Slice& slice,
                                 int64_t (&at)[U]) {
    const int head_mask = (1 << head_shift) - 1;
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int r = min(first + G * u, n - 1);  // clamped reads of a row the block reads anyway, masked
      at[u] = (r >> head_shift) * row_stride + (r & head_mask) * slice.D;
    }
  }
  __device__ void fetch_keys(const T* k, int64_t row_stride, int head_shift, int first, int n, const Slice& slice,
                             uint64_t policy) {
    int64_t at[U];
    offsets(row_stride, head_shift, first, n, slice, at);
#pragma unroll
    for (int u = 0; u < U; ++u) slice.template fetch<kHint>(k + at[u], k_raw[u], policy);
  }
  __device__ void fetch_values(const T* v, int64_t row_stride, int head_shift, int first, int n, const Slice& slice,
                               uint64_t policy) {
    int64_t at[U];
    offsets(row_stride, head_shift, first, n, slice, at);
#pragma unroll
    for (int u = 0; u < U; ++u) slice.template fetch<kHint>(v + at[u], v_raw[u], policy);
  }
  __device__ void fetch(const T* k, const T* v, int64_t row_stride, int head_shift, int first, int n,
                        const Slice& slice, uint64_t policy = 0) {
    fetch_keys(k, row_stride, head_shift, first, n, slice, policy);
    fetch_values(v, row_stride, head_shift, first, n, slice, policy);
  }
  __device__ void scores(int first, int n, const Slice& slice, const float (&qv)[Slice::kFloats], float (&s)[U]) const {
    softmax_scores<U, G, Slice::kLanes>(
        first, n, qv, [&](int u, float(&x)[Slice::kFloats]) { slice.unpack(k_raw[u], x); }, s);
  }
  __device__ void values(const float (&s)[U], const Slice& slice, RunningSoftmax<Slice::kFloats>& st) const {
    softmax_values(s, st, [&](int u, float(&x)[Slice::kFloats]) { slice.unpack(v_raw[u], x); });
  }
  __device__ void consume(int first, int n, const Slice& slice, const float (&qv)[Slice::kFloats],
                          RunningSoftmax<Slice::kFloats>& st) const {
    float s[U];
    scores(first, n, slice, qv, s);
    values(s, slice, st);
  }
};

// The group's query row (its head: rows of a tile or step keep to one head per group), scaled into
// the exp2 domain.
template <class T, class Slice>
__device__ void load_query(const DecodeWork& w, const T* q, int column, int group, const Slice& slice,
                           float (&qv)[Slice::kFloats]) {
  const int pair = w.first_pair(column) + (group & ((1 << w.head_shift) - 1));
  slice.load(q + static_cast<int64_t>(pair) * w.head_dim, qv);
#pragma unroll
  for (int e = 0; e < Slice::kFloats; ++e) qv[e] *= w.scale_log2;
}

}  // namespace decode
}  // namespace seqbench
