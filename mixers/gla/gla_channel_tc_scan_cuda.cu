// Per-channel-decay GLA state scan on bf16 tensor cores (FLA's chunk_fwd_h / chunk_bwd_dh for GLA): per
// 64-token chunk with b its cumulative decay per key channel, S <- diag(e^{b_63}) S + (k * e^{b_63 - b})^T v
// forward, and dS <- diag(e^{b_63}) dS + (scale q * e^{b})^T dout in reverse. Checked against GlaKernels::cpu()
// (chunk states, final state, and every gradient through dS) in test_gpu_gla_channel_bf16.cpp.
#include <cuda_bf16.h>

#include <cstdint>

#include "mixers/gla/gla_channel_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace gla_ch {
namespace {

using tc::Stored;

// One block per (head, 64 value columns, KR key rows), 4 warps; warp w holds state rows [w KR / 4, (w + 1) KR / 4)
// of the block's in fp32 registers through the whole sequence. Each row of S evolves on its own (its decay is
// its key channel's), so the rows split across blocks as freely as the columns: KR = 64 gives more, smaller
// blocks (long sequences have few heads to spread), KR = DK transforms each chunk's a tile once per value tile
// instead of once per (value, key) tile. The a and u tiles are double-buffered; the decay tile is not: the
// next chunk's decays load during this chunk's MMAs.
constexpr int kScanThreads = 128;

template <int DK, int KR>
struct ScanTiles {
  static constexpr int kLda = KR + 8, kLdu = 64 + 8, kLdb = decay_ld<KR>(), kRowTiles = KR / 64;
  static constexpr int kBytes = 2 * kChunk * (kLda + kLdu) * 2 + kChunk * kLdb * 4;
};

template <int DK, int KR, bool kReverse>
__global__ void __launch_bounds__(kScanThreads, KR == 64 ? 4 : 2)
    channel_state_scan_kernel(const bf16* __restrict__ a, const bf16* __restrict__ u, const float* __restrict__ g,
                              bf16* __restrict__ states, float* __restrict__ final_state, float scale, int dv,
                              ChunkGrid d) {
  using T = ScanTiles<DK, KR>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* as = reinterpret_cast<bf16*>(smem_raw);                     // [2][64][kLda] a rows
  bf16* us = as + 2 * kChunk * T::kLda;                             // [2][64][kLdu] u rows (this block's columns)
  float* bs = reinterpret_cast<float*>(us + 2 * kChunk * T::kLdu);  // [64][kLdb] decays, then their cumulative sum

  const int bh = blockIdx.x, c0 = blockIdx.y * 64, r0 = blockIdx.z * KR, warp = threadIdx.x / 32,
            lane = threadIdx.x % 32;
  const bf16* a_h = a + gla_tc::head_offset(bh, d, DK) + r0;
  const bf16* u_h = u + gla_tc::head_offset(bh, d, dv) + c0;
  const int64_t a_stride = static_cast<int64_t>(d.H) * DK, u_stride = static_cast<int64_t>(d.H) * dv;
  auto chunk_of = [&](int it) { return kReverse ? d.NC - 1 - it : it; };
  auto load = [&](int it, int buf) {
    const int c = chunk_of(it);
    tc::load_tile_async<kChunk, KR, T::kLda, kScanThreads>(as + buf * kChunk * T::kLda, a_h, a_stride, c * kChunk, d.L);
    tc::load_tile_async<kChunk, 64, T::kLdu, kScanThreads>(us + buf * kChunk * T::kLdu, u_h, u_stride, c * kChunk, d.L);
    load_decay_tile_async<KR, kScanThreads>(bs, g, bh, c, d, DK, r0);
    tc::commit_async();
  };

  float acc[T::kRowTiles][8][4] = {};
  load(0, 0);
  for (int it = 0; it < d.NC; ++it) {
    const int buf = it & 1, c = chunk_of(it);
    tc::wait_async<0>();
    __syncthreads();  // this chunk's tiles are visible; the last chunk's MMAs are done with the other buffer
    bf16* A = as + buf * kChunk * T::kLda;
    const bf16* U = us + buf * kChunk * T::kLdu;

    // X before this chunk, straight from the registers (bf16 pairs).
    gla_tc::store_scan_state(acc, states + ((static_cast<int64_t>(bh) * d.NC + c) * DK + r0) * dv + c0, dv);

    cumulative_decay_in_place<KR, kScanThreads>(bs);
    // a_t *= w_t per channel, in place; rows past L are zero and stay zero.
    const float* last = bs + (kChunk - 1) * T::kLdb;
    for (int i = threadIdx.x; i < kChunk * KR / 2; i += kScanThreads) {
      const int t = i / (KR / 2), ch = 2 * (i % (KR / 2));
      const float2 bt = *reinterpret_cast<const float2*>(bs + t * T::kLdb + ch);
      float w0, w1;
      if (kReverse) {
        w0 = scale * __expf(bt.x);
        w1 = scale * __expf(bt.y);
      } else {
        w0 = __expf(last[ch] - bt.x);
        w1 = __expf(last[ch + 1] - bt.y);
      }
      __nv_bfloat162* x = reinterpret_cast<__nv_bfloat162*>(A + t * T::kLda + ch);
      *x = __floats2bfloat162_rn(w0 * __low2float(*x), w1 * __high2float(*x));
    }
    float decay[T::kRowTiles][2];  // e^{b_63} of this lane's state rows, read before the next decays land
#pragma unroll
    for (int m = 0; m < T::kRowTiles; ++m)
#pragma unroll
      for (int half = 0; half < 2; ++half)
        decay[m][half] = __expf(last[(warp * T::kRowTiles + m) * 16 + lane / 4 + 8 * half]);
    __syncthreads();  // the decayed a tile is complete; every thread is done with bs
    if (it + 1 < d.NC) load(it + 1, buf ^ 1);

#pragma unroll
    for (int m = 0; m < T::kRowTiles; ++m) {
#pragma unroll
      for (int n = 0; n < 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[m][n][e] *= decay[m][e / 2];
      // a^T (rows: key channels, contraction: tokens) is the a tile read by column.
      tc::warp_mma<kChunk / 16, 8, Stored::by_column, Stored::by_row>(acc[m], A + (warp * T::kRowTiles + m) * 16,
                                                                      T::kLda, U, T::kLdu);
    }
  }

  if (final_state) gla_tc::store_scan_state(acc, final_state + (static_cast<int64_t>(bh) * DK + r0) * dv + c0, dv);
}

template <int DK, int KR, bool kReverse>
void launch_scan(const bf16* a, const bf16* u, const float* g, bf16* states, float* final_state, float scale, int dv,
                 const ChunkGrid& d, cudaStream_t stream) {
  auto kernel = channel_state_scan_kernel<DK, KR, kReverse>;
  gla_tc::set_shared_bytes(kernel, ScanTiles<DK, KR>::kBytes);
  const dim3 grid(static_cast<unsigned>(d.BH), static_cast<unsigned>(dv / 64), DK / KR);
  kernel<<<grid, kScanThreads, ScanTiles<DK, KR>::kBytes, stream>>>(a, u, g, states, final_state, scale, dv, d);
  cudaCheckLaunch();
}

}  // namespace

void launch_channel_state_scan(const bf16* a, const bf16* u, const float* g, bf16* states, float* final_state,
                               float scale, bool reverse, bool rows64, int dk, int dv, const ChunkGrid& d,
                               cudaStream_t stream) {
  auto scan = dk == 64 ? (reverse ? launch_scan<64, 64, true> : launch_scan<64, 64, false>)
              : rows64 ? (reverse ? launch_scan<128, 64, true> : launch_scan<128, 64, false>)
                       : (reverse ? launch_scan<128, 128, true> : launch_scan<128, 128, false>);
  scan(a, u, g, states, final_state, scale, dv, d, stream);
}

}  // namespace gla_ch
}  // namespace seqbench
