// The (gated) delta rule's state pass over 64-token chunks in WY form (Yang et al. 2024, sec. 3.3, eq. 8-9):
// V_new = U - W H, H <- e^{G_63} H + (e^{G_63 - G_j} K)^T V_new, H = S^T at each chunk's start. Checked through
// the forward against the CPU kernel (chunk states, final state) in test_gpu_delta_bf16.cpp.
#include <cuda_bf16.h>

#include <cstdint>

#include "mixers/delta/delta_rule_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace delta_tc {
namespace {

using tc::Stored;

// One block per (head, kCols value columns), 4 warps: warp w holds H rows [w DK / 4, (w + 1) DK / 4) in fp32
// registers through the whole sequence and forms V_new for chunk rows 16 w .. 16 w + 15. The next chunk's
// tiles load (cp.async) while this one runs. kCols 32 doubles the blocks (long sequences, few heads) at the
// price of reading W and K once more per head.
constexpr int kThreads = 128;

template <int DK, int kCols>
struct ScanTiles {
  // kRowTiles: 16-row tiles of H per warp; kNT: 8-column tiles of a block's value columns.
  static constexpr int kLdk = DK + 8, kLdu = kCols + 8, kRowTiles = DK / 64, kNT = kCols / 8;
  static constexpr int kStage = 2 * kChunk * kLdk + kChunk * kLdu;  // bf16 per buffer: W, K, U
  static constexpr int kBytes = (2 * kStage + DK * kLdu) * 2 + 2 * kChunk * 4;
};

template <int DK, int kCols>
__global__ void __launch_bounds__(kThreads, 2)
    state_scan_kernel(const bf16* __restrict__ k, const bf16* __restrict__ w, bf16* __restrict__ v_new,
                      const float* __restrict__ decay, bf16* __restrict__ states, float* __restrict__ final_state,
                      int dv, ChunkGrid d) {
  using T = ScanTiles<DK, kCols>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* stage = reinterpret_cast<bf16*>(smem_raw);          // [2] x {W [64][kLdk], K [64][kLdk], U [64][kLdu]}
  bf16* hs = stage + 2 * T::kStage;                         // [DK][kLdu] H (bf16), the B operand of W H
  float* gs = reinterpret_cast<float*>(hs + DK * T::kLdu);  // [2][64] cumulative decays

  const int bh = blockIdx.x, c0 = blockIdx.y * kCols, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const bf16* k_h = k + gla_tc::head_offset(bh, d, DK);
  const bf16* w_h = w + gla_tc::head_offset(bh, d, DK);
  bf16* u_h = v_new + gla_tc::head_offset(bh, d, dv) + c0;
  const int64_t k_stride = static_cast<int64_t>(d.H) * DK, u_stride = static_cast<int64_t>(d.H) * dv;
  auto load = [&](int c, int buf) {
    bf16* base = stage + buf * T::kStage;
    tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(base, w_h, k_stride, c * kChunk, d.L);
    tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(base + kChunk * T::kLdk, k_h, k_stride, c * kChunk, d.L);
    tc::load_tile_async<kChunk, kCols, T::kLdu, kThreads>(base + 2 * kChunk * T::kLdk, u_h, u_stride, c * kChunk, d.L);
    gla_tc::load_chunk_decays_async(gs + buf * kChunk, decay, bh, c, d);
    tc::commit_async();
  };

  float h[T::kRowTiles][T::kNT][4] = {};
  load(0, 0);
  for (int c = 0; c < d.NC; ++c) {
    const int buf = c & 1;
    __syncthreads();  // chunk c - 1 is done with the other buffer and with hs
    if (c + 1 < d.NC) {
      load(c + 1, buf ^ 1);
      tc::wait_async<1>();
    } else {
      tc::wait_async<0>();
    }
    const bf16* W = stage + buf * T::kStage;
    const bf16* K = W + kChunk * T::kLdk;
    bf16* U = stage + buf * T::kStage + 2 * kChunk * T::kLdk;
    const float* g = gs + buf * kChunk;

    // H before this chunk, as bf16 pairs: to hs, and to the caller's states.
    store_walk_state(h, hs, T::kLdu, states + (static_cast<int64_t>(bh) * d.NC + c) * DK * dv + c0, dv);
    __syncthreads();  // this chunk's tiles and hs are visible to every warp

    // V_new = U - W H on this warp's 16 rows: to memory (bf16), and into U scaled by e^{G_63 - G_i}.
    const float total = g[kChunk - 1];
    {
      float x[T::kNT][4] = {};
      tc::warp_mma<DK / 16, T::kNT, Stored::by_row, Stored::by_row>(x, W + 16 * warp * T::kLdk, T::kLdk, hs, T::kLdu);
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int i = 16 * warp + lane / 4 + 8 * half, t = c * kChunk + i;
        const float scale = __expf(total - g[i]);
#pragma unroll
        for (int n = 0; n < T::kNT; ++n) {
          const int col = 8 * n + 2 * (lane % 4);
          __nv_bfloat162* up = reinterpret_cast<__nv_bfloat162*>(U + i * T::kLdu + col);
          const float2 uu = __bfloat1622float2(*up);
          const float v0 = uu.x - x[n][2 * half], v1 = uu.y - x[n][2 * half + 1];
          if (t < d.L) *reinterpret_cast<uint32_t*>(u_h + t * u_stride + col) = tc::pack_bf16x2(v0, v1);
          *up = __floats2bfloat162_rn(scale * v0, scale * v1);
        }
      }
    }
    __syncthreads();  // every row of the scaled V_new is in U

    decay_and_add_outer<T::kRowTiles, T::kNT, 1>(h, __expf(total), {K}, T::kLdk, {U}, T::kLdu);
  }

  if (final_state) store_walk_state_fp32(h, final_state + static_cast<int64_t>(bh) * DK * dv + c0, dv);
}

template <int DK, int kCols>
void launch(const bf16* k, const bf16* w, bf16* v_new, const float* decay, bf16* states, float* final_state, int dv,
            const ChunkGrid& d, cudaStream_t stream) {
  auto kernel = state_scan_kernel<DK, kCols>;
  constexpr int kBytes = ScanTiles<DK, kCols>::kBytes;
  gla_tc::set_shared_bytes(kernel, kBytes);
  const dim3 grid(static_cast<unsigned>(d.BH), static_cast<unsigned>(dv / kCols));
  kernel<<<grid, kThreads, kBytes, stream>>>(k, w, v_new, decay, states, final_state, dv, d);
  cudaCheckLaunch();
}

}  // namespace

void launch_state_scan(const bf16* k, const bf16* w, bf16* v_new, const float* decay, bf16* states, float* final_state,
                       int dk, int dv, int cols, const ChunkGrid& d, cudaStream_t stream) {
  auto run =
      dk == 64 ? (cols == 32 ? launch<64, 32> : launch<64, 64>) : (cols == 32 ? launch<128, 32> : launch<128, 64>);
  run(k, w, v_new, decay, states, final_state, dv, d, stream);
}

}  // namespace delta_tc
}  // namespace seqbench
