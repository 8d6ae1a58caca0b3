// Scalar-decay GLA forward in one pass (FLA's fused_chunk): per 64-token chunk with b its cumulative decay,
// o_i = scale e^{b_i} q_i^T S + sum_{j<=i} scale (q_i . k_j) e^{b_i - b_j} v_j, then S <- e^{b_63} S +
// sum_j e^{b_63 - b_j} k_j v_j^T. Checked against gla_fwd_cpu in test_gpu_gla.cpp (both forward variants).
#include <cuda_bf16.h>

#include <cstdint>

#include "mixers/gla/gla_scalar_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace gla_tc {
namespace {

using tc::Stored;

// One block per (head, 64 value columns), 8 warps, the two value tiles of a head adjacent in the grid so
// the second one's q and k reads hit L2. The split forward writes and reads every chunk state (2 Dk Dv
// bytes per chunk, as much as q, k and v together at Dk = Dv = 128); here the state stays in fp32
// registers and only its bf16 copy for Q S goes through shared memory. The scores are recomputed per
// value tile, which costs less than the state traffic they replace.
constexpr int kFusedThreads = 256;

template <int DK>
struct FusedTiles {
  static constexpr int kLdk = DK + 8, kLdv = 64 + 8;
  // State rows per warp: 16. DK = 128 spreads 8 warps over the rows; DK = 64 also splits the columns.
  static constexpr int kRowWarps = DK / 16, kStateCols = 64 * kRowWarps / 8;
  // q once, k and v double-buffered, the bf16 state, the scores, u; 106 KB at DK = 128: two blocks per SM.
  static constexpr int kBytes = (3 * kChunk * kLdk + 2 * kChunk * kLdv + DK * kLdv + 2 * kChunk * kLdv) * 2 +
                                4 * kChunk * 4;
};

// The warp's share of the state (fp32 accumulators, rows row0.., columns col0..) as bf16 into dst, ld apart.
template <int NT>
__device__ __forceinline__ void store_state_tile(const float (&acc)[NT][4], bf16* dst, int ld, int row0, int col0) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    bf16* row = dst + (row0 + lane / 4 + 8 * half) * ld + col0 + 2 * (lane % 4);
#pragma unroll
    for (int n = 0; n < NT; ++n)
      *reinterpret_cast<uint32_t*>(row + 8 * n) = tc::pack_bf16x2(acc[n][2 * half], acc[n][2 * half + 1]);
  }
}

template <int DK, bool kDecay>
__global__ void __launch_bounds__(kFusedThreads, 2)
    fused_forward_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                         const float* __restrict__ b, const float* __restrict__ value_scale, bf16* __restrict__ out,
                         bf16* __restrict__ states, float* __restrict__ final_state, float scale, int dv, ChunkGrid d) {
  using T = FusedTiles<DK>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* qs = reinterpret_cast<bf16*>(smem_raw);  // [64][kLdk]
  bf16* ks = qs + kChunk * T::kLdk;              // [2][64][kLdk]
  bf16* vs = ks + 2 * kChunk * T::kLdk;          // [2][64][kLdv] this block's value columns
  bf16* hs = vs + 2 * kChunk * T::kLdv;          // [DK][kLdv] the state at the chunk's start
  bf16* as = hs + DK * T::kLdv;                  // [64][kLdv] decayed, masked scores
  bf16* us = as + kChunk * T::kLdv;              // [64][kLdv] e^{b_63 - b_j} v_j
  float* bs = reinterpret_cast<float*>(us + kChunk * T::kLdv);  // [2][64] cumulative decays
  float* ds = bs + 2 * kChunk;                                  // [2][64] value scales
  static_assert(T::kLdv == kScoreStride, "scores share the value tiles' row stride");

  const int tiles = dv / 64, c0 = (blockIdx.x % tiles) * 64, bh = blockIdx.x / tiles, warp = threadIdx.x / 32;
  const int row0 = 16 * (warp % 4), half = warp / 4;  // scores and output: 16 rows x 32 columns
  const int srow = 16 * (warp % T::kRowWarps), scol = (warp / T::kRowWarps) * T::kStateCols;
  const bf16* q_h = q + qk_head_offset(bh, d, DK);
  const bf16* k_h = k + qk_head_offset(bh, d, DK);
  const bf16* v_h = v + head_offset(bh, d, dv) + c0;
  bf16* out_h = out + head_offset(bh, d, dv) + c0;
  const int64_t qk_stride = static_cast<int64_t>(d.QK) * DK, v_stride = static_cast<int64_t>(d.H) * dv;
  auto load_kv = [&](int c, int buf) {
    tc::load_tile_async<kChunk, DK, T::kLdk, kFusedThreads>(ks + buf * kChunk * T::kLdk, k_h, qk_stride, c * kChunk,
                                                            d.L);
    tc::load_tile_async<kChunk, 64, T::kLdv, kFusedThreads>(vs + buf * kChunk * T::kLdv, v_h, v_stride, c * kChunk,
                                                            d.L);
    if (kDecay) load_chunk_decays_async(bs + buf * kChunk, b, bh, c, d);
    if (value_scale) load_chunk_decays_async(ds + buf * kChunk, value_scale, bh, c, d);
    tc::commit_async();
  };
  auto load_q = [&](int c) {
    tc::load_tile_async<kChunk, DK, T::kLdk, kFusedThreads>(qs, q_h, qk_stride, c * kChunk, d.L);
    tc::commit_async();
  };

  // Without a decay or a value scale u_j = v_j: the state update reads the value tile itself.
  const bool weigh = kDecay || value_scale;
  float acc[T::kStateCols / 8][4] = {};
  store_state_tile(acc, hs, T::kLdv, srow, scol);  // the zero initial state
  load_q(0);
  load_kv(0, 0);
  for (int c = 0; c < d.NC; ++c) {
    const int buf = c & 1;
    tc::wait_async<0>();
    __syncthreads();  // chunk c's tiles and state are visible; chunk c - 1's k, v, scores and u are free
    if (c + 1 < d.NC) load_kv(c + 1, buf ^ 1);
    if (states)
      store_state_tile(acc, states + (static_cast<int64_t>(bh) * d.NC + c) * DK * dv + c0, dv, srow, scol);
    const bf16* K = ks + buf * kChunk * T::kLdk;
    const bf16* V = vs + buf * kChunk * T::kLdv;
    const float* bc = bs + buf * kChunk;

    {  // Scores of rows row0.. and columns 32 half..; tiles wholly above the diagonal are only zeroed.
      float s[4][4] = {};
      if (32 * half <= row0 + 15)
        tc::warp_mma<DK / 16, 4, Stored::by_row, Stored::by_column>(s, qs + row0 * T::kLdk, T::kLdk,
                                                                    K + 32 * half * T::kLdk, T::kLdk);
      store_decayed_scores<kDecay>(s, row0, 32 * half, bc, scale, as, value_scale ? ds + buf * kChunk : nullptr);
    }
    // u_j = e^{b_63 - b_j} v_j (times its value scale), what each token adds to the state at the chunk's end;
    // rows past L are zero.
    for (int i = threadIdx.x; weigh && i < kChunk * 8; i += kFusedThreads) {
      const int t = i / 8;
      const float w = (kDecay ? __expf(bc[kChunk - 1] - bc[t]) : 1.0f) * (value_scale ? ds[buf * kChunk + t] : 1.0f);
      const __nv_bfloat162* x = reinterpret_cast<const __nv_bfloat162*>(V + t * T::kLdv + (i % 8) * 8);
      __nv_bfloat162* y = reinterpret_cast<__nv_bfloat162*>(us + t * T::kLdv + (i % 8) * 8);
#pragma unroll
      for (int e = 0; e < 4; ++e) y[e] = __floats2bfloat162_rn(w * __low2float(x[e]), w * __high2float(x[e]));
    }
    __syncthreads();  // scores and u complete

    {  // O = scale e^{b_i} Q S + A V over this warp's 16 rows and 32 columns.
      float o[4][4] = {};
      tc::warp_mma<DK / 16, 4, Stored::by_row, Stored::by_row>(o, qs + row0 * T::kLdk, T::kLdk, hs + 32 * half,
                                                               T::kLdv);
      scale_rows(o, row0, [&](int i) { return kDecay ? scale * __expf(bc[i]) : scale; });
      // A is zero right of the diagonal block: rows row0.. need the first row0 / 16 + 1 token blocks only.
      for (int kk = 0; kk <= row0 / 16; ++kk)
        tc::warp_mma<1, 4, Stored::by_row, Stored::by_row>(o, as + row0 * T::kLdv + 16 * kk, T::kLdv,
                                                           V + 16 * kk * T::kLdv + 32 * half, T::kLdv);
      store_token_rows(o, out_h, v_stride, c * kChunk, d.L, row0, 32 * half);
    }
    __syncthreads();  // every warp is done with q and the state copy: q of the next chunk loads during the update
    if (c + 1 < d.NC) load_q(c + 1);
    // S <- e^{b_63} S + K^T U (K^T: the k tile read by column); no warp reads the state copy until the next chunk.
    if constexpr (kDecay) {
      const float decay = __expf(bc[kChunk - 1]);
#pragma unroll
      for (int n = 0; n < T::kStateCols / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[n][e] *= decay;
    }
    tc::warp_mma<kChunk / 16, T::kStateCols / 8, Stored::by_column, Stored::by_row>(acc, K + srow, T::kLdk,
                                                                                     (weigh ? us : V) + scol, T::kLdv);
    store_state_tile(acc, hs, T::kLdv, srow, scol);
  }

  if (final_state) {
    const int lane = threadIdx.x % 32;
    float* dst = final_state + static_cast<int64_t>(bh) * DK * dv + c0;
#pragma unroll
    for (int n = 0; n < T::kStateCols / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        dst[(srow + lane / 4 + 8 * (e / 2)) * dv + scol + 8 * n + 2 * (lane % 4) + e % 2] = acc[n][e];
  }
}

template <int DK>
void launch(const bf16* q, const bf16* k, const bf16* v, const float* b, const float* value_scale, bf16* out,
            bf16* states, float* final_state, float scale, int dv, const ChunkGrid& d, cudaStream_t stream) {
  auto kernel = b ? fused_forward_kernel<DK, true> : fused_forward_kernel<DK, false>;
  set_shared_bytes(kernel, FusedTiles<DK>::kBytes);
  kernel<<<d.BH * (dv / 64), kFusedThreads, FusedTiles<DK>::kBytes, stream>>>(q, k, v, b, value_scale, out, states,
                                                                              final_state, scale, dv, d);
  cudaCheckLaunch();
}

}  // namespace

void launch_fused_forward(const bf16* q, const bf16* k, const bf16* v, const float* b, const float* value_scale,
                          bf16* out, bf16* states, float* final_state, float scale, int dk, int dv, const ChunkGrid& d,
                          cudaStream_t stream) {
  (dk == 64 ? launch<64> : launch<128>)(q, k, v, b, value_scale, out, states, final_state, scale, dv, d, stream);
}

}  // namespace gla_tc
}  // namespace seqbench
