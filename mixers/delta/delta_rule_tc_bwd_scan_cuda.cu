// The (gated) delta rule's reverse state pass in WY form (backward of delta_rule_tc_scan_cuda.cu): with dH the
// gradient of the state at a chunk's end, dV_new = dV_local + diag(e^{G_63 - G_j}) K dH and the gradient at its
// start e^{G_63} dH + (diag(e^G) Q)^T dO - W^T dV_new. Checked through the backward in test_gpu_delta_bf16.cpp.
#include <cuda_bf16.h>

#include <cstdint>

#include "mixers/delta/delta_rule_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace delta_tc {
namespace {

using tc::Stored;

// One block per (head, kCols value columns), 4 warps: warp w holds dH rows [w DK / 4, (w + 1) DK / 4) in fp32
// registers, chunks last to first, and forms dV_new for chunk rows 16 w .. 16 w + 15. kStages 2 loads the next
// chunk's tiles while this one runs; 1 halves the shared memory (two blocks per SM at DK 128).
constexpr int kThreads = 128;

template <int DK, int kStages, int kCols>
struct ReverseTiles {
  static constexpr int kLdk = DK + 8, kLdu = kCols + 8, kRowTiles = DK / 64, kNT = kCols / 8;
  static constexpr int kStage = 3 * kChunk * kLdk + 2 * kChunk * kLdu;  // bf16: Q, K, W, dO, dV_local
  static constexpr int kBytes = (kStages * kStage + DK * kLdu) * 2 + kStages * kChunk * 4;
};

template <int DK, int kStages, int kCols>
__global__ void __launch_bounds__(kThreads)
    reverse_scan_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ w,
                        const bf16* __restrict__ dout, bf16* __restrict__ dv_new, const float* __restrict__ decay,
                        bf16* __restrict__ dstates, int dv, ChunkGrid d) {
  using T = ReverseTiles<DK, kStages, kCols>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* stage = reinterpret_cast<bf16*>(smem_raw);           // [kStages] x {Q, K, W [64][kLdk], dO, dV [64][kLdu]}
  bf16* dhs = stage + kStages * T::kStage;                   // [DK][kLdu] dH (bf16), the B operand of K dH
  float* gs = reinterpret_cast<float*>(dhs + DK * T::kLdu);  // [kStages][64] cumulative decays

  const int bh = blockIdx.x, c0 = blockIdx.y * kCols, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t k_off = gla_tc::head_offset(bh, d, DK), v_off = gla_tc::head_offset(bh, d, dv) + c0;
  const int64_t k_stride = static_cast<int64_t>(d.H) * DK, v_stride = static_cast<int64_t>(d.H) * dv;
  auto load = [&](int c, int buf) {
    bf16* base = stage + buf * T::kStage;
    tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(base, q + k_off, k_stride, c * kChunk, d.L);
    tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(base + kChunk * T::kLdk, k + k_off, k_stride, c * kChunk, d.L);
    tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(base + 2 * kChunk * T::kLdk, w + k_off, k_stride, c * kChunk,
                                                       d.L);
    bf16* vbase = base + 3 * kChunk * T::kLdk;
    tc::load_tile_async<kChunk, kCols, T::kLdu, kThreads>(vbase, dout + v_off, v_stride, c * kChunk, d.L);
    tc::load_tile_async<kChunk, kCols, T::kLdu, kThreads>(vbase + kChunk * T::kLdu, dv_new + v_off, v_stride,
                                                          c * kChunk, d.L);
    gla_tc::load_chunk_decays_async(gs + buf * kChunk, decay, bh, c, d);
    tc::commit_async();
  };

  float dh[T::kRowTiles][T::kNT][4] = {};
  if (kStages == 2) load(d.NC - 1, 0);
  for (int it = 0; it < d.NC; ++it) {
    const int c = d.NC - 1 - it, buf = kStages == 2 ? it & 1 : 0;
    __syncthreads();  // chunk c + 1 is done with its buffer and with dhs
    if (kStages == 1) {
      load(c, 0);
      tc::wait_async<0>();
    } else if (c > 0) {
      load(c - 1, buf ^ 1);
      tc::wait_async<1>();
    } else {
      tc::wait_async<0>();
    }
    bf16* base = stage + buf * T::kStage;
    const bf16* Q = base;
    const bf16* K = base + kChunk * T::kLdk;
    const bf16* W = base + 2 * kChunk * T::kLdk;
    bf16* dO = base + 3 * kChunk * T::kLdk;
    bf16* dV = dO + kChunk * T::kLdu;
    const float* g = gs + buf * kChunk;

    // dH at this chunk's end, as bf16 pairs: to dhs, and to dstates (the chunk kernels' dK and dG read it).
    store_walk_state(dh, dhs, T::kLdu, dstates + (static_cast<int64_t>(bh) * d.NC + c) * DK * dv + c0, dv);
    __syncthreads();  // this chunk's tiles and dhs are visible to every warp

    // dV_new = dV_local + e^{G_63 - G_i} (K dH)_i on this warp's 16 rows: to memory, and into dV negated (the
    // A^T operand of -W^T dV_new); dO rows scaled by e^{G_i} for (diag(e^G) Q)^T dO.
    const float total = g[kChunk - 1];
    {
      float x[T::kNT][4] = {};
      tc::warp_mma<DK / 16, T::kNT, Stored::by_row, Stored::by_row>(x, K + 16 * warp * T::kLdk, T::kLdk, dhs, T::kLdu);
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int i = 16 * warp + lane / 4 + 8 * half, t = c * kChunk + i;
        const float scale = __expf(total - g[i]), q_scale = __expf(g[i]);
#pragma unroll
        for (int n = 0; n < T::kNT; ++n) {
          const int col = 8 * n + 2 * (lane % 4);
          __nv_bfloat162* vp = reinterpret_cast<__nv_bfloat162*>(dV + i * T::kLdu + col);
          __nv_bfloat162* op = reinterpret_cast<__nv_bfloat162*>(dO + i * T::kLdu + col);
          const float2 local = __bfloat1622float2(*vp), o = __bfloat1622float2(*op);
          const float v0 = local.x + scale * x[n][2 * half], v1 = local.y + scale * x[n][2 * half + 1];
          if (t < d.L) *reinterpret_cast<uint32_t*>(dv_new + v_off + t * v_stride + col) = tc::pack_bf16x2(v0, v1);
          *vp = __floats2bfloat162_rn(-v0, -v1);
          *op = __floats2bfloat162_rn(q_scale * o.x, q_scale * o.y);
        }
      }
    }
    __syncthreads();  // every row of -dV_new and e^G dO is in place

    const bf16* a_tiles[2] = {Q, W};
    const bf16* u_tiles[2] = {dO, dV};
    decay_and_add_outer<T::kRowTiles, T::kNT, 2>(dh, __expf(total), a_tiles, T::kLdk, u_tiles, T::kLdu);
  }
}

template <int DK, int kStages, int kCols>
void launch(const bf16* q, const bf16* k, const bf16* w, const bf16* dout, bf16* dv_new, const float* decay,
            bf16* dstates, int dv, const ChunkGrid& d, cudaStream_t stream) {
  auto kernel = reverse_scan_kernel<DK, kStages, kCols>;
  constexpr int kBytes = ReverseTiles<DK, kStages, kCols>::kBytes;
  gla_tc::set_shared_bytes(kernel, kBytes);
  const dim3 grid(static_cast<unsigned>(d.BH), static_cast<unsigned>(dv / kCols));
  kernel<<<grid, kThreads, kBytes, stream>>>(q, k, w, dout, dv_new, decay, dstates, dv, d);
  cudaCheckLaunch();
}

}  // namespace

void launch_reverse_scan(const bf16* q, const bf16* k, const bf16* w, const bf16* dout, bf16* dv_new,
                         const float* decay, bf16* dstates, int dk, int dv, int stages, int cols, const ChunkGrid& d,
                         cudaStream_t stream) {
  using Launch = decltype(&launch<64, 1, 64>);
  const Launch table[2][2][2] = {{{launch<64, 1, 32>, launch<64, 1, 64>}, {launch<64, 2, 32>, launch<64, 2, 64>}},
                                 {{launch<128, 1, 32>, launch<128, 1, 64>}, {launch<128, 2, 32>, launch<128, 2, 64>}}};
  const Launch run = table[dk == 64 ? 0 : 1][stages == 1 ? 0 : 1][cols == 32 ? 0 : 1];
  run(q, k, w, dout, dv_new, decay, dstates, dv, d, stream);
}

}  // namespace delta_tc
}  // namespace seqbench
