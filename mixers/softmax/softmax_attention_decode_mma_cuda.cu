// One-token decode with the scores and P V on the tensor cores: a pair of warps takes 8 cache rows
// of each tile and computes S = Q K^T of the block's (up to 16) query heads, one head a row of the
// m16n8k16 A fragment, against them, masks the entries whose key belongs to another head, runs the
// online softmax on the accumulator fragments, and each warp of the pair adds P V (m16n8k8) into its
// half of the head dim; no shuffle per key. The warps' softmaxes combine at an item's end; tiles,
// pipeline and split merge are the SIMT kernel's.
// Checked against softmax_attention_decode_cpu in test_gpu_softmax.cpp.
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "mixers/softmax/softmax_attention_decode_kernel.cuh"
#include "mixers/softmax/softmax_attention_decode_mma.cuh"
#include "ops/cuda/cuda_check.h"

namespace seqbench {
namespace decode {
namespace {

using bf16 = __nv_bfloat16;

template <int kD>
struct MmaConfig {
  static constexpr int kWarps = kThreads / 32;
  static constexpr int kRowElems = kD + 8;  // see mma_stage_bytes
  static constexpr int kStageElems = 2 * kMmaTileRows * kRowElems;
  static constexpr int kHalf = kD / 2;     // output columns of a warp
  // An ldmatrix.x4 covers 32 columns: two k-steps of the scores, four n-tiles of P V.
  static constexpr int kKBlocks = kD / 32, kVBlocks = kHalf / 32;
  static constexpr int kOutFloats = kMmaMaxHeads * kD;
  static constexpr int kCombineFloats = kOutFloats > 2 * kMaxMergedPartials ? kOutFloats : 2 * kMaxMergedPartials;
  static_assert(kHalf % 32 == 0, "whole ldmatrix.x4 column blocks");
};

__device__ __forceinline__ void mma_16x8x8(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t b) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5}, {%6}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(b));
}

// The bulk path with padded stage rows: a copy a row, issued by the first warp; lane 0 arms the
// stage's barrier with the bytes of all of them (a copy landing first takes the count below zero
// until then, which does not complete the phase).
__device__ void bulk_load_rows(const bf16* k_head, const bf16* v_head, int64_t row_stride, int key, int n,
                               int head_shift, int D, int row_elems, bf16* k_s, bf16* v_s, uint64_t* landed,
                               uint64_t policy) {
  const int lane = threadIdx.x % 32, head_mask = (1 << head_shift) - 1;
  const uint32_t bytes = static_cast<uint32_t>(D * sizeof(bf16));
  if (lane == 0) hopper::barrier_arrive_expect_bytes(landed, 2u * static_cast<uint32_t>(n) * bytes);
  for (int r = lane; r < n; r += 32) {
    const int64_t from = (key + (r >> head_shift)) * row_stride + (r & head_mask) * D;
    hopper::bulk_load(k_s + r * row_elems, k_head + from, bytes, landed, policy);
    hopper::bulk_load(v_s + r * row_elems, v_head + from, bytes, landed, policy);
  }
}

// A warp's running softmax of the 16 query rows: o, its half of the head dim, in the m16n8
// accumulator layout (row lane / 4 + 8 (e / 2), column 8 nt + 2 (lane % 4) + e % 2 of the half), m per
// row (the same in the four lanes of a row and in both warps of a pair), l this lane's share of the
// row's sum.
template <int kD>
struct WarpSoftmax {
  float o[kD / 16][4];
  float m[2], l[2];
  __device__ void reset() {
#pragma unroll
    for (int nt = 0; nt < kD / 16; ++nt) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f;
    m[0] = m[1] = -INFINITY;
    l[0] = l[1] = 0.0f;
  }
};

// The A fragments of Q for every k-step: row r the query of head r of the column, rows past its
// heads zero. q: the column's first head.
template <int kD>
__device__ void load_query_fragments(const bf16* q, int heads, uint32_t (&qa)[kD / 16][4]) {
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int slot = g + 8 * half;
    const uint32_t* row = reinterpret_cast<const uint32_t*>(q + static_cast<int64_t>(slot < heads ? slot : 0) * kD);
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      qa[kk][half] = slot < heads ? row[8 * kk + t] : 0u;          // columns 16 kk + 2t, + 1
      qa[kk][2 + half] = slot < heads ? row[8 * kk + 4 + t] : 0u;  // columns 16 kk + 2t + 8, + 9
    }
  }
}

// Rows first .. first + 7 of a tile of n rows (row r: head r & head_mask), fragment column c being
// row first + c. Rows past n are read clamped to n - 1 (the stale stage bytes never enter a
// product) and masked, as are entries of another head. Both warps of a pair compute the same
// scores, bit for bit, so their softmax statistics agree.
template <int kD>
__device__ void consume_tile_mma(const bf16* k_s, const bf16* v_s, int n, int head_shift, float scale_log2,
                                 const uint32_t (&qa)[kD / 16][4], WarpSoftmax<kD>& st) {
  using C = MmaConfig<kD>;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int first = (warp / 2) * kMmaRowsPerPair;
  if (first >= n) return;
  const int row = min(first + (lane & 7), n - 1);
  const bf16* k_row = k_s + row * C::kRowElems + (lane >> 3) * 8;
  const bf16* v_row = v_s + row * C::kRowElems + (lane >> 3) * 8 + (warp % 2) * C::kHalf;
  float s[4] = {};
#pragma unroll
  for (int j = 0; j < C::kKBlocks; ++j) {
    uint32_t b[4];
    tc::load_matrix_x4(b, k_row + 32 * j);
    tc::mma_16x8x16(s, qa[2 * j], b[0], b[1]);
    tc::mma_16x8x16(s, qa[2 * j + 1], b[2], b[3]);
  }
  const int head_mask = (1 << head_shift) - 1;
  float p[4];
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    const int r = first + 2 * t + (e & 1), slot = g + 8 * (e >> 1);
    p[e] = r < n && (r & head_mask) == slot ? s[e] * scale_log2 : -INFINITY;
  }
  float corr[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    float mx = fmaxf(p[2 * i], p[2 * i + 1]);
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float m_new = fmaxf(st.m[i], mx);
    // A row without keys so far stays at -inf with nothing to correct; exp2 of -inf - base is 0.
    const float base = m_new == -INFINITY ? 0.0f : m_new;
    corr[i] = m_new == st.m[i] ? 1.0f : exp2f(st.m[i] - base);
    p[2 * i] = exp2f(p[2 * i] - base), p[2 * i + 1] = exp2f(p[2 * i + 1] - base);
    st.l[i] = st.l[i] * corr[i] + p[2 * i] + p[2 * i + 1];
    st.m[i] = m_new;
  }
  // The maxima settle after the first tiles: most tiles skip the rescale.
  if (__any_sync(0xffffffffu, corr[0] != 1.0f || corr[1] != 1.0f)) {
#pragma unroll
    for (int nt = 0; nt < kD / 16; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) st.o[nt][e] *= corr[e >> 1];
  }
  // The score accumulator's layout is the A fragment of m16n8k8: P feeds P V from registers.
  const uint32_t a0 = tc::pack_bf16x2(p[0], p[1]), a1 = tc::pack_bf16x2(p[2], p[3]);
#pragma unroll
  for (int j = 0; j < C::kVBlocks; ++j) {
    uint32_t b[4];
    tc::load_matrix_x4_transposed(b, v_row + 32 * j);
#pragma unroll
    for (int i = 0; i < 4; ++i) mma_16x8x8(st.o[4 * j + i], a0, a1, b[i]);
  }
}

// The end of an item: the pairs' softmaxes of each head combined (outputs added in pair order, so
// the bits do not depend on timing), stored as output or partial, then the split merge. Both warps
// of a pair hold the same m and l; the sums take the even warp's.
template <int kD>
__device__ void finish_item_mma(const DecodeWork& w, const DecodeTensors<bf16>& t, int column, int split,
                                const WarpSoftmax<kD>& st, float* o_s, float* m_s, float* l_s, int* last_s) {
  using C = MmaConfig<kD>;
  constexpr int kPairs = C::kWarps / 2;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t4 = lane % 4;
  const int heads = 1 << w.head_shift;
  float scale[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    float l = st.l[i] + __shfl_xor_sync(0xffffffffu, st.l[i], 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    if (t4 == 0 && warp % 2 == 0)
      m_s[(warp / 2) * kMmaMaxHeads + g + 8 * i] = st.m[i], l_s[(warp / 2) * kMmaMaxHeads + g + 8 * i] = l;
  }
  __syncthreads();
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    float m = -INFINITY;
    for (int pr = 0; pr < kPairs; ++pr) m = fmaxf(m, m_s[pr * kMmaMaxHeads + g + 8 * i]);
    scale[i] = st.m[i] == -INFINITY ? 0.0f : exp2f(st.m[i] - m);
  }
  const int column0 = (warp % 2) * C::kHalf;
  for (int turn = 0; turn < kPairs; ++turn) {
    if (warp / 2 == turn) {
#pragma unroll
      for (int nt = 0; nt < kD / 16; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int slot = g + 8 * (e >> 1), at = slot * kD + column0 + 8 * nt + 2 * t4 + (e & 1);
          const float x = st.o[nt][e] * scale[e >> 1];
          if (slot < heads) o_s[at] = turn == 0 ? x : o_s[at] + x;
        }
    }
    __syncthreads();
  }
  for (int i = threadIdx.x; i < heads * kD; i += kThreads) {
    const int j = i / kD, d = i - j * kD;
    float m = -INFINITY, l = 0.0f;
    for (int pr = 0; pr < kPairs; ++pr) m = fmaxf(m, m_s[pr * kMmaMaxHeads + j]);
    for (int pr = 0; pr < kPairs; ++pr) l += l_s[pr * kMmaMaxHeads + j] * exp2f(m_s[pr * kMmaMaxHeads + j] - m);
    store_item_element(w, t, column, split, j, d, m, l, o_s[i]);
  }
  count_and_merge<2>(w, t, column, reinterpret_cast<float2*>(o_s), last_s);
}

template <int kD, int kPrefetch, bool kBulk>
__global__ void __launch_bounds__(kThreads, kMmaMaxBlocksPerSm)
    attention_decode_mma_kernel(DecodeWork w, DecodeTensors<bf16> t) {
  using C = MmaConfig<kD>;
  using Cursor = TileCursor<kMmaTileRows>;
  extern __shared__ __align__(16) unsigned char stage_bytes[];
  bf16* stages = reinterpret_cast<bf16*>(stage_bytes);
  __shared__ __align__(16) float o_s[C::kCombineFloats];
  __shared__ float m_s[C::kWarps / 2 * kMmaMaxHeads], l_s[C::kWarps / 2 * kMmaMaxHeads];
  __shared__ int last_s;
  __shared__ uint64_t landed[kBulk ? kMaxStages : 1];
  uint32_t landed_parity = 0;  // bit s: the parity of stage s's next phase
  const uint64_t policy = kBulk ? hopper::evict_first_policy() : 0;  // the cache is read once
  if constexpr (kBulk) {
    if (threadIdx.x == 0) {
      for (int s = 0; s < w.stages; ++s) hopper::barrier_init(&landed[s], 1);
      hopper::barrier_init_fence();
      hopper::fence_shared_for_async_proxy();
    }
    __syncthreads();
  }
  const int64_t row_stride = static_cast<int64_t>(w.heads) * kD;

  // As in the SIMT kernel: every thread commits a (possibly empty) group per tile on the cp.async
  // path; the first warp issues the copies on the bulk path.
  auto fetch_tile = [&](Cursor& at, int stage) {
    if (!at.done(w)) {
      bf16* k_s = stages + stage * C::kStageElems;
      bf16* v_s = k_s + kMmaTileRows * C::kRowElems;
      if constexpr (kBulk) {
        if (threadIdx.x < 32)
          bulk_load_rows(t.k + at.head, t.v + at.head, row_stride, at.key, at.rows(w), w.head_shift, kD,
                         C::kRowElems, k_s, v_s, &landed[stage], policy);
      } else {
        load_tile<bf16, C::kRowElems, true, kPrefetch>(t.k + at.head, t.v + at.head, row_stride, at.key, at.rows(w),
                                                       w.head_shift, kD, k_s, v_s);
      }
      at.advance(w);
    }
    if constexpr (!kBulk) tc::commit_async();
  };
  uint32_t qa[kD / 16][4];
  auto load_query = [&](int column) {
    load_query_fragments<kD>(t.q + static_cast<int64_t>(w.first_pair(column)) * kD, 1 << w.head_shift, qa);
  };
  auto next_stage = [&](int stage) { return stage + 1 == w.stages ? 0 : stage + 1; };

  Cursor fetch, use;
  fetch.enter(w, blockIdx.x);
  use = fetch;
  for (int s = 0; s + 1 < w.stages; ++s) fetch_tile(fetch, s);
  int fetch_stage = w.stages - 1, use_stage = 0;
  if (!use.done(w)) load_query(use.column);
  WarpSoftmax<kD> st;
  st.reset();
  while (!use.done(w)) {
    if constexpr (kBulk) {
      hopper::barrier_wait(&landed[use_stage], (landed_parity >> use_stage) & 1u);
      landed_parity ^= 1u << use_stage;
    } else {
      wait_async_pending(w.stages - 2);
    }
    __syncthreads();  // this tile landed for every thread; the stage refilled next was consumed by all
    fetch_tile(fetch, fetch_stage);
    fetch_stage = next_stage(fetch_stage);
    const bf16* k_s = stages + use_stage * C::kStageElems;
    use_stage = next_stage(use_stage);
    consume_tile_mma<kD>(k_s, k_s + kMmaTileRows * C::kRowElems, use.rows(w), w.head_shift, w.scale_log2, qa, st);
    if (!use.last_of_item(w)) {
      use.advance(w);
      continue;
    }
    finish_item_mma<kD>(w, t, use.column, use.item / w.columns, st, o_s, m_s, l_s, &last_s);
    st.reset();
    use.advance(w);
    if (!use.done(w)) load_query(use.column);
  }
}

template <int kD, int kPrefetch, bool kBulk>
void launch_mma(const DecodeWork& w, const DecodeTensors<bf16>& t, int grid, cudaStream_t stream) {
  auto kernel = attention_decode_mma_kernel<kD, kPrefetch, kBulk>;
  configure_once(kernel);
  kernel<<<grid, kThreads, w.stages * mma_stage_bytes(kD), stream>>>(w, t);
  cudaCheckLaunch();
}

// The prefetch hint and the bulk path are template arguments, as in the SIMT launcher.
template <int kD>
void launch_for_head_dim(const DecodeWork& w, const DecodeTensors<bf16>& t, int grid, int l2_prefetch, bool bulk,
                         cudaStream_t stream) {
  if (bulk) {
    launch_mma<kD, 0, true>(w, t, grid, stream);
  } else if (l2_prefetch == 256) {
    launch_mma<kD, 256, false>(w, t, grid, stream);
  } else if (l2_prefetch == 128) {
    launch_mma<kD, 128, false>(w, t, grid, stream);
  } else if (l2_prefetch == 64) {
    launch_mma<kD, 64, false>(w, t, grid, stream);
  } else {
    launch_mma<kD, 0, false>(w, t, grid, stream);
  }
}

}  // namespace

void launch_decode_mma(const DecodeWork& w, const DecodeTensors<bf16>& t, int grid, int l2_prefetch, bool bulk,
                       cudaStream_t stream) {
  if (w.head_shift > 4 || !mma_applies(w.head_dim))
    throw std::logic_error("launch_decode_mma: needs at most 16 heads per block and head_dim 64 or 128, got " +
                           std::to_string(1 << w.head_shift) + " and " + std::to_string(w.head_dim));
  if (w.head_dim == 128) {
    launch_for_head_dim<128>(w, t, grid, l2_prefetch, bulk, stream);
  } else {
    launch_for_head_dim<64>(w, t, grid, l2_prefetch, bulk, stream);
  }
}

}  // namespace decode
}  // namespace seqbench
