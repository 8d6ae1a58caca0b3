// One-token decode, o = sum_j softmax_j(q.k_j / sqrt(D)) v_j over a cache split into key ranges:
// each range gives (m, l, unnormalised o) by online softmax (Milakov & Gimelshein 2018), and the last
// range of a (batch, head) to finish merges them in the same launch (flash decoding, Dao et al. 2023).
// Checked against softmax_attention_decode_cpu in test_gpu_softmax.cpp.
#pragma once
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>

#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "ops/cuda/element_type.cuh"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace decode {

constexpr int kThreads = 256;

// How the keys are cut. Every (batch, head) pair is split into `splits` key ranges of equal size;
// item i is range i / pairs of pair i % pairs, so blocks running side by side read neighbouring
// heads of the same tokens (contiguous memory). Block p takes items p, p + gridDim.x, ...
struct DecodeWork {
  int pairs, splits, items;  // items = pairs * splits
  int len, heads, head_dim;
  int64_t capacity;  // tokens per batch row of the cache
  float scale_log2;  // 1/sqrt(D) * log2(e): scores in the exp2 domain
  __device__ int split_begin(int split) const { return static_cast<int>(int64_t{len} * split / splits); }
};

template <class T>
struct DecodeTensors {
  const T* q;  // [pairs, D]
  const T* k;  // [batch, capacity, heads, D]
  const T* v;
  T* out;              // [pairs, D]
  float* partial;      // [items][2 + D]: m, l, o of each range (splits > 1)
  unsigned* arrivals;  // [pairs]: ranges finished so far; zero between calls
};

// The key tiles of a block, in order: an item's tiles are consecutive, items advance by gridDim.x.
// The item's pair and the offset of its head's first row are worked out once, on entering it.
template <int kTileKeys>
struct TileCursor {
  int item, pair, key, end;
  int64_t head;  // elements from the cache's start to row 0 of this pair
  __device__ void enter(const DecodeWork& w, int it) {
    item = it;
    if (it >= w.items) return;
    const int split = it / w.pairs;
    pair = it - split * w.pairs;
    key = w.split_begin(split), end = w.split_begin(split + 1);
    const int b = pair / w.heads, h = pair - b * w.heads;
    head = (static_cast<int64_t>(b) * w.capacity * w.heads + h) * w.head_dim;
  }
  __device__ bool done(const DecodeWork& w) const { return item >= w.items; }
  __device__ int count() const { return min(kTileKeys, end - key); }
  __device__ bool last_of_item() const { return key + kTileKeys >= end; }
  __device__ void advance(const DecodeWork& w) {
    key += kTileKeys;
    if (key >= end) enter(w, item + static_cast<int>(gridDim.x));
  }
};

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

// One lane's share of a head_dim row, shared by LPR lanes. kVector: PPL 16-byte pieces per lane,
// piece sub + LPR * p (neighbouring lanes read neighbouring 16 bytes: no bank conflicts); lanes past
// the row's end hold zeros. Otherwise strided scalars sub + LPR * e, for any head_dim.
template <class T, int LPR, int PPL, bool kVector>
struct RowSlice {
  static constexpr int kVec = 16 / sizeof(T);
  static constexpr int kFloats = kVector ? PPL * kVec : kAttentionMaxHeadDim / LPR;  // per lane
  static constexpr int kRowElems = LPR * kFloats;                                    // a row's stride in shared memory
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
};

// Copies keys [key, key + n) of one pair's K and V rows into a stage: 16-byte cp.async pieces that
// stay in flight while earlier stages are consumed, or (any head_dim, any alignment) plain copies.
template <class T, int kRowElems, bool kVector>
__device__ void load_tile(const T* k_head, const T* v_head, int64_t row_stride, int key, int n, int D, T* k_s, T* v_s) {
  constexpr int kVec = 16 / sizeof(T), kUnit = kVector ? kVec : 1, kUnitsPerRow = kRowElems / kUnit;
  for (int i = threadIdx.x; i < n * kUnitsPerRow; i += kThreads) {
    const int r = i / kUnitsPerRow, c = (i % kUnitsPerRow) * kUnit;  // powers of two: shifts
    if (c >= D) continue;
    const int64_t from = (key + r) * row_stride + c;
    if constexpr (kVector) {
      tc::copy_async_16(k_s + r * kRowElems + c, k_head + from, true);
      tc::copy_async_16(v_s + r * kRowElems + c, v_head + from, true);
    } else {
      k_s[r * kRowElems + c] = k_head[from];
      v_s[r * kRowElems + c] = v_head[from];
    }
  }
}

// One group's running softmax over its keys: max m and sum l in the exp2 domain, o unnormalised.
template <int kFloats>
struct RunningSoftmax {
  float m = -INFINITY, l = 0.0f, o[kFloats] = {};
};

// Group g takes rows g, g + G, ... of a tile of n keys (n <= G * kKeysPerGroup).
template <class T, class Slice, int kKeysPerGroup, int G>
__device__ void consume_tile(const T* k_s, const T* v_s, int n, int group, const Slice& slice,
                             const float (&qv)[Slice::kFloats], RunningSoftmax<Slice::kFloats>& st) {
  constexpr int kLanes = kThreads / G;
  float s[kKeysPerGroup];
  float m_new = st.m;
#pragma unroll
  for (int u = 0; u < kKeysPerGroup; ++u) {
    const int r = group + G * u;
    float kx[Slice::kFloats];
    slice.load(k_s + min(r, n - 1) * Slice::kRowElems, kx);  // clamped reads, masked below
    float dot = 0.0f;
#pragma unroll
    for (int e = 0; e < Slice::kFloats; ++e) dot += qv[e] * kx[e];
      // The butterfly leaves every lane of the group with the same sum, bit for bit.
#pragma unroll
    for (int offset = kLanes / 2; offset > 0; offset >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
    s[u] = r < n ? dot : -INFINITY;
    m_new = fmaxf(m_new, s[u]);
  }
  if (m_new == -INFINITY) return;  // no key of this tile for this group
  const float correction = exp2f(st.m - m_new);
  st.l *= correction;
#pragma unroll
  for (int e = 0; e < Slice::kFloats; ++e) st.o[e] *= correction;
#pragma unroll
  for (int u = 0; u < kKeysPerGroup; ++u) {
    const float p = exp2f(s[u] - m_new);  // 0 for masked rows
    float vx[Slice::kFloats];
    slice.load(v_s + min(group + G * u, n - 1) * Slice::kRowElems, vx);
    st.l += p;
#pragma unroll
    for (int e = 0; e < Slice::kFloats; ++e) st.o[e] += p * vx[e];
  }
  st.m = m_new;
}

// The S partial results of one pair, merged in split order (so the output does not depend on which
// block came last). __ldcg: the partials were written by other SMs; read them from L2, not L1. The
// unrolled loads do not depend on the running max, so 8 splits' loads are in flight at once.
template <class T>
__device__ void merge_partials(const DecodeWork& w, const DecodeTensors<T>& t, int pair) {
  const int stride = w.head_dim + 2;
  const float* first = t.partial + static_cast<int64_t>(pair) * w.splits * stride;
  for (int d = threadIdx.x; d < w.head_dim; d += kThreads) {
    float m = -INFINITY, l = 0.0f, acc = 0.0f;
#pragma unroll 8
    for (int sp = 0; sp < w.splits; ++sp) {
      const float* p = first + sp * stride;
      const float m_sp = __ldcg(p), m_new = fmaxf(m, m_sp);
      const float old_scale = exp2f(m - m_new), new_scale = exp2f(m_sp - m_new);
      l = l * old_scale + __ldcg(p + 1) * new_scale;
      acc = acc * old_scale + __ldcg(p + 2 + d) * new_scale;
      m = m_new;
    }
    t.out[static_cast<int64_t>(pair) * w.head_dim + d] = from_float<T>(acc / l);
  }
}

}  // namespace decode
}  // namespace seqbench
