// The (gated) delta rule's whole WY-form forward after T, W, U in one walk over the chunks (as FLA's fused_chunk
// for GLA): per chunk V_new = U - W H, O = e^{G_i} Q H + (Q K^T (.) causal (.) e^{G_i - G_j}) V_new and
// H <- e^{G_63} H + (e^{G_63 - G_j} K)^T V_new, the state never leaving the SM and V_new never reaching memory.
// Checked against the CPU kernel in test_gpu_delta_bf16.cpp (both forward variants).
#include <cuda_bf16.h>

#include <cstdint>

#include "mixers/delta/delta_rule_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace delta_tc {
namespace {

using gla_tc::kScoreStride;
using tc::Stored;

// One block per (head, kCols value columns), 4 warps: warp w holds H rows [w DK / 4, (w + 1) DK / 4) in fp32
// registers and forms V_new and O for chunk rows 16 w .. 16 w + 15. One buffer of tiles (about 87 KiB at DK 128),
// so two blocks share an SM and one computes while the other loads.
constexpr int kThreads = 128;

template <int DK, int kCols>
struct FusedTiles {
  static constexpr int kLdk = DK + 8, kLdu = kCols + 8, kRowTiles = DK / 64, kNT = kCols / 8;
  static constexpr int kBf16 = 3 * kChunk * kLdk + kChunk * kLdu + DK * kLdu + kChunk * kScoreStride;
  static constexpr int kBytes = kBf16 * 2 + kChunk * 4;
};

template <int DK, int kCols>
__global__ void __launch_bounds__(kThreads, 2)
    fused_forward_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ w, bf16* u,
                         const float* __restrict__ decay, bf16* __restrict__ out, bf16* __restrict__ states,
                         float* __restrict__ final_state, bool keep_v_new, int dv, ChunkGrid d) {
  using T = FusedTiles<DK, kCols>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* qs = reinterpret_cast<bf16*>(smem_raw);  // [64][kLdk]
  bf16* ks = qs + kChunk * T::kLdk;              // [64][kLdk]
  bf16* wt = ks + kChunk * T::kLdk;              // [64][kLdk] W
  bf16* us = wt + kChunk * T::kLdk;              // [64][kLdu] U, then V_new, then e^{G_63 - G_j} V_new
  bf16* hs = us + kChunk * T::kLdu;              // [DK][kLdu] H (bf16)
  bf16* ss = hs + DK * T::kLdu;                  // [64][kScoreStride] masked, decayed Q K^T
  float* gs = reinterpret_cast<float*>(ss + kChunk * kScoreStride);  // [64] cumulative decays

  const int bh = blockIdx.x, c0 = blockIdx.y * kCols, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = 16 * warp;
  const int64_t k_off = gla_tc::head_offset(bh, d, DK), v_off = gla_tc::head_offset(bh, d, dv) + c0;
  const int64_t k_stride = static_cast<int64_t>(d.H) * DK, v_stride = static_cast<int64_t>(d.H) * dv;

  float h[T::kRowTiles][T::kNT][4] = {};
  for (int c = 0; c < d.NC; ++c) {
    const int t0 = c * kChunk;
    __syncthreads();  // chunk c - 1 is done with every tile
    tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(qs, q + k_off, k_stride, t0, d.L);
    tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(ks, k + k_off, k_stride, t0, d.L);
    tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(wt, w + k_off, k_stride, t0, d.L);
    tc::load_tile_async<kChunk, kCols, T::kLdu, kThreads>(us, u + v_off, v_stride, t0, d.L);
    gla_tc::load_chunk_decays_async(gs, decay, bh, c, d);
    tc::commit_async();

    // H before this chunk (bf16) to hs and, when kept, to states, while the tiles load.
    bf16* kept = states ? states + (static_cast<int64_t>(bh) * d.NC + c) * DK * dv + c0 : nullptr;
    store_walk_state(h, hs, T::kLdu, kept, dv);
    tc::wait_async<0>();
    __syncthreads();  // tiles and hs visible

    {  // V_new = U - W H in place over U; the scores of this warp's rows.
      float x[T::kNT][4] = {};
      tc::warp_mma<DK / 16, T::kNT, Stored::by_row, Stored::by_row>(x, wt + row0 * T::kLdk, T::kLdk, hs, T::kLdu);
#pragma unroll
      for (int half = 0; half < 2; ++half)
#pragma unroll
        for (int n = 0; n < T::kNT; ++n) {
          __nv_bfloat162* p =
              reinterpret_cast<__nv_bfloat162*>(us + (row0 + lane / 4 + 8 * half) * T::kLdu + 8 * n + 2 * (lane % 4));
          const float2 uu = __bfloat1622float2(*p);
          *p = __floats2bfloat162_rn(uu.x - x[n][2 * half], uu.y - x[n][2 * half + 1]);
        }
      float s[8][4] = {};
      tc::warp_mma<DK / 16, 8, Stored::by_row, Stored::by_column>(s, qs + row0 * T::kLdk, T::kLdk, ks, T::kLdk);
      gla_tc::store_decayed_scores<true>(s, row0, 0, gs, 1.0f, ss);
    }
    __syncthreads();  // V_new and the scores complete

    if (keep_v_new)  // over U in place: this block alone reads these columns, and chunk c's U is already on chip
      for (int x = threadIdx.x; x < kChunk * kCols / 8; x += kThreads) {
        const int r = x / (kCols / 8), col = (x % (kCols / 8)) * 8;
        if (t0 + r < d.L)
          *reinterpret_cast<uint4*>(u + v_off + (t0 + r) * v_stride + col) =
              *reinterpret_cast<const uint4*>(us + r * T::kLdu + col);
      }

    {  // O = e^{G_i} Q H + S V_new; S is zero right of the diagonal block.
      float o[T::kNT][4] = {};
      tc::warp_mma<DK / 16, T::kNT, Stored::by_row, Stored::by_row>(o, qs + row0 * T::kLdk, T::kLdk, hs, T::kLdu);
      gla_tc::scale_rows(o, row0, [&](int i) { return __expf(gs[i]); });
      for (int kk = 0; kk <= warp; ++kk)
        tc::warp_mma<1, T::kNT, Stored::by_row, Stored::by_row>(o, ss + row0 * kScoreStride + 16 * kk, kScoreStride,
                                                                us + 16 * kk * T::kLdu, T::kLdu);
      gla_tc::store_token_rows(o, out + v_off, v_stride, t0, d.L, row0, 0);
    }
    __syncthreads();  // every warp is done reading V_new unscaled

    const float total = gs[kChunk - 1];
    for (int x = threadIdx.x; x < kChunk * kCols / 2; x += kThreads) {  // bf16 pairs of V_new, times e^{G_63 - G_i}
      const int i = x / (kCols / 2);
      __nv_bfloat162* p = reinterpret_cast<__nv_bfloat162*>(us + i * T::kLdu + 2 * (x % (kCols / 2)));
      const float scale = __expf(total - gs[i]);
      const float2 y = __bfloat1622float2(*p);
      *p = __floats2bfloat162_rn(scale * y.x, scale * y.y);
    }
    __syncthreads();

    decay_and_add_outer<T::kRowTiles, T::kNT, 1>(h, __expf(total), {ks}, T::kLdk, {us}, T::kLdu);
  }

  if (final_state) store_walk_state_fp32(h, final_state + static_cast<int64_t>(bh) * DK * dv + c0, dv);
}

template <int DK, int kCols>
void launch(const bf16* q, const bf16* k, const bf16* w, bf16* u, const float* decay, bf16* out, bf16* states,
            float* final_state, bool keep_v_new, int dv, const ChunkGrid& d, cudaStream_t stream) {
  auto kernel = fused_forward_kernel<DK, kCols>;
  constexpr int kBytes = FusedTiles<DK, kCols>::kBytes;
  gla_tc::set_shared_bytes(kernel, kBytes);
  const dim3 grid(static_cast<unsigned>(d.BH), static_cast<unsigned>(dv / kCols));
  kernel<<<grid, kThreads, kBytes, stream>>>(q, k, w, u, decay, out, states, final_state, keep_v_new, dv, d);
  cudaCheckLaunch();
}

}  // namespace

void launch_fused_forward(const bf16* q, const bf16* k, const bf16* w, bf16* u, const float* decay, bf16* out,
                          bf16* states, float* final_state, bool keep_v_new, int dk, int dv, int cols,
                          const ChunkGrid& d, cudaStream_t stream) {
  auto run =
      dk == 64 ? (cols == 32 ? launch<64, 32> : launch<64, 64>) : (cols == 32 ? launch<128, 32> : launch<128, 64>);
  run(q, k, w, u, decay, out, states, final_state, keep_v_new, dv, d, stream);
}

}  // namespace delta_tc
}  // namespace seqbench
