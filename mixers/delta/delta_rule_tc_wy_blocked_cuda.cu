// The WY representation of one 64-token chunk (delta_rule_tc_wy_cuda.cu's math: A = strictly-lower(diag(beta) K K^T
// (.) e^{G_i - G_j}), T = (I + A)^{-1}, W = T diag(beta e^G) K, U = T diag(beta) V) with T solved in 16 x 16 blocks,
// as flash-linear-attention's solve_tril: each warp inverts its diagonal block by fp32 forward substitution, then
// forms the blocks left of it on tensor cores, T_ij = -(sum_{j<m<=i} T_im A_mj) T_jj (from T (I + A) = I), a
// row band per warp with no other warp's band needed. Checked against the CPU kernels in test_gpu_delta_bf16.cpp.
//
// Why: the serial solve (one column per thread, 2016 dependent shared-memory reads per thread) held two warps
// of every block for most of the kernel; here the solve is 120 FMAs per lane and a few MMAs per warp, V loads
// while A and T form, and W and U leave through shared memory in 16-byte rows.
#include <cuda_bf16.h>

#include <cstdint>

#include "mixers/delta/delta_rule_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace delta_tc {
namespace {

// One block per (head, chunk), 4 warps; warp w owns chunk rows 16 w .. 16 w + 15 (row band w) of A, T, W, U.
constexpr int kThreads = 128;
constexpr int kBlock = 16;

template <int DK, int DV>
struct WyBlockedTiles {
  static constexpr int kLdk = DK + 8, kLdv = DV + 8, kLdt = kChunk + 8;  // bf16 rows, conflict-free ldmatrix
  // A's blocks left of the diagonal, bf16: rows 16..63, columns 0..47; 56 elements (112 bytes, an odd multiple
  // of 16) keep ldmatrix conflict-free.
  static constexpr int kLdab = 3 * kBlock + 8;
  static constexpr int kBf16 = kChunk * kLdk + kChunk * kLdv + kChunk * kLdt + 3 * kBlock * kLdab;
  // A's diagonal blocks in fp32 ([4][16][16], read by broadcast), cumulative decays and beta.
  static constexpr int kBytes = kBf16 * 2 + (4 * kBlock * kBlock + 2 * kChunk) * 4;
};

// acc[16 x 8 NT] += sum over the 16-column blocks kk < kk_end of (T diag(f))[rows, block kk] B[block kk rows, :]:
// t at row band (0, 0) of T (by row), b a [64][ldb] tile by row, f(j) the column scale folded into T's fragment.
template <int NT, class Scale>
__device__ __forceinline__ void scaled_t_times(float (&acc)[NT][4], const bf16* t, int ldt, int kk_end, Scale f,
                                               const bf16* b, int ldb) {
  const int lane = threadIdx.x % 32;
  for (int kk = 0; kk < kk_end; ++kk) {
    uint32_t af[4];
    tc::load_matrix_x4(af, t + (lane & 15) * ldt + kk * kBlock + (lane >> 4) * 8);
    // Registers 0, 1 hold columns 2 (lane % 4) + {0, 1} of the block, registers 2, 3 the same plus 8.
    const int c0 = kk * kBlock + 2 * (lane % 4);
    const float f0 = f(c0), f1 = f(c0 + 1), f8 = f(c0 + 8), f9 = f(c0 + 9);
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const float2 x = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&af[r]));
      af[r] = r < 2 ? tc::pack_bf16x2(x.x * f0, x.y * f1) : tc::pack_bf16x2(x.x * f8, x.y * f9);
    }
#pragma unroll
    for (int np = 0; np < NT / 2; ++np) {
      uint32_t bf[4];
      tc::load_matrix_x4_transposed(
          bf, b + (kk * kBlock + (lane & 7) + (((lane >> 3) & 1) << 3)) * ldb + np * 16 + (lane >> 4) * 8);
      tc::mma_16x8x16(acc[2 * np], af, bf[0], bf[1]);
      tc::mma_16x8x16(acc[2 * np + 1], af, bf[2], bf[3]);
    }
  }
}

// A 16 x 8 NT accumulator tile (this warp's row band, rows row0 + ...) as bf16 pairs into dst [.][ld], times `sign`.
template <int NT>
__device__ __forceinline__ void store_fragment_rows(const float (&acc)[NT][4], bf16* dst, int ld, int row0,
                                                    float sign) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int n = 0; n < NT; ++n)
#pragma unroll
    for (int half = 0; half < 2; ++half)
      *reinterpret_cast<uint32_t*>(dst + (row0 + lane / 4 + 8 * half) * ld + 8 * n + 2 * (lane % 4)) =
          tc::pack_bf16x2(sign * acc[n][2 * half], sign * acc[n][2 * half + 1]);
}

// A [64][COLS] bf16 smem tile (rows ld apart) into the chunk's tokens t0 + r < L of a [B, L, H, COLS] tensor,
// 16 bytes per thread and step.
template <int COLS>
__device__ __forceinline__ void store_tile_tokens(const bf16* smem, int ld, bf16* dst, int64_t token_stride, int t0,
                                                  int L) {
  constexpr int kPerRow = COLS / 8;
  for (int x = threadIdx.x; x < kChunk * kPerRow; x += kThreads) {
    const int r = x / kPerRow, col = (x % kPerRow) * 8;
    if (t0 + r < L)
      *reinterpret_cast<uint4*>(dst + (t0 + r) * token_stride + col) =
          *reinterpret_cast<const uint4*>(smem + r * ld + col);
  }
}

template <int DK, int DV>
__global__ void __launch_bounds__(kThreads, 4)
    wy_prepare_blocked_kernel(const bf16* __restrict__ k, const bf16* __restrict__ v, const float* __restrict__ beta,
                              const float* __restrict__ decay, bf16* __restrict__ w, bf16* __restrict__ u,
                              bf16* __restrict__ t_out, ChunkGrid d) {
  using T = WyBlockedTiles<DK, DV>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* ks = reinterpret_cast<bf16*>(smem_raw);                      // [64][kLdk] K, then W
  bf16* vs = ks + kChunk * T::kLdk;                                  // [64][kLdv] V, then U
  bf16* ts = vs + kChunk * T::kLdv;                                  // [64][kLdt] T
  bf16* ab = ts + kChunk * T::kLdt;                                  // [48][kLdab] A rows 16.., columns ..47
  float* ad = reinterpret_cast<float*>(ab + 3 * kBlock * T::kLdab);  // [4][16][16] A's diagonal blocks
  float* gs = ad + 4 * kBlock * kBlock;                              // [64] cumulative decays
  float* bs = gs + kChunk;                                           // [64] beta (0 past L)

  const int bh = blockIdx.x / d.NC, c = blockIdx.x % d.NC, t0 = c * kChunk;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, row0 = kBlock * warp;
  const int64_t k_stride = static_cast<int64_t>(d.H) * DK, v_stride = static_cast<int64_t>(d.H) * DV;
  // Two groups: K with the gates first (A needs them), V second, landing while A and T form.
  tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(ks, k + gla_tc::head_offset(bh, d, DK), k_stride, t0, d.L);
  gla_tc::load_chunk_decays_async(gs, decay, bh, c, d);
  if (threadIdx.x >= 32 && threadIdx.x < 48) {  // beta, 16 bytes per thread of a second group of 16
    const int i = threadIdx.x - 32;
    tc::copy_async_16(bs + 4 * i, beta + (static_cast<int64_t>(bh) * d.NC + c) * kChunk + 4 * i, true);
  }
  tc::commit_async();
  tc::load_tile_async<kChunk, DV, T::kLdv, kThreads>(vs, v + gla_tc::head_offset(bh, d, DV), v_stride, t0, d.L);
  tc::commit_async();
  tc::wait_async<1>();
  __syncthreads();

  float* adw = ad + warp * kBlock * kBlock;  // this warp's diagonal block of A
  {                                          // A: this warp's 16 rows, columns left of and in its diagonal block.
    float s[8][4] = {};
    tc::warp_mma<DK / 16, 8, tc::Stored::by_row, tc::Stored::by_column>(s, ks + row0 * T::kLdk, T::kLdk, ks, T::kLdk);
#pragma unroll
    for (int n = 0; n < 8; ++n)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int i = row0 + lane / 4 + 8 * half, j = 8 * n + 2 * (lane % 4);  // columns j, j + 1: one block
        if (j >= row0 + kBlock) continue;
        float a[2];
#pragma unroll
        for (int e = 0; e < 2; ++e) a[e] = j + e < i ? bs[i] * s[n][2 * half + e] * __expf(gs[i] - gs[j + e]) : 0.0f;
        if (j >= row0) {
          adw[(i - row0) * kBlock + j - row0] = a[0];
          adw[(i - row0) * kBlock + j - row0 + 1] = a[1];
        } else {
          *reinterpret_cast<uint32_t*>(ab + (i - kBlock) * T::kLdab + j) = tc::pack_bf16x2(a[0], a[1]);
        }
      }
  }
  __syncwarp();

  if (lane < kBlock) {  // T_ww = (I + A_ww)^{-1}, column `lane`: x_i = [i == lane] - sum_{j<i} A_ij x_j, in fp32
    float x[kBlock];
#pragma unroll
    for (int i = 0; i < kBlock; ++i) {
      float sum = i == lane ? 1.0f : 0.0f;
#pragma unroll
      for (int j = 0; j < i; ++j) sum -= adw[i * kBlock + j] * x[j];
      x[i] = sum;
      ts[(row0 + i) * T::kLdt + row0 + lane] = __float2bfloat16(x[i]);
    }
  } else {  // T is lower: zeros right of the diagonal block (read only by the copy to t_out)
    for (int x = lane - kBlock; x < kBlock * (kChunk - row0 - kBlock); x += 32 - kBlock) {
      const int i = x / (kChunk - row0 - kBlock), j = row0 + kBlock + x % (kChunk - row0 - kBlock);
      ts[(row0 + i) * T::kLdt + j] = __float2bfloat16(0.0f);
    }
  }
  tc::wait_async<0>();  // V, for after the barrier
  __syncthreads();      // every diagonal block of T and all of A

  // T_wj for j = w - 1 down to 0: X = sum_{j<m<=w} T_wm A_mj (fp32), then T_wj = -X T_jj with X split into a
  // bf16 pair (hi + lo), so that X adds no rounding to that of the bf16 T and A blocks.
  for (int j = warp - 1; j >= 0; --j) {
    float x[2][4] = {};
    for (int m = j + 1; m <= warp; ++m)
      tc::warp_mma<1, 2, tc::Stored::by_row, tc::Stored::by_row>(
          x, ts + row0 * T::kLdt + m * kBlock, T::kLdt, ab + (m - 1) * kBlock * T::kLdab + j * kBlock, T::kLdab);
    float lo[2][4];
#pragma unroll
    for (int n = 0; n < 2; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) lo[n][e] = x[n][e] - __bfloat162float(__float2bfloat16(x[n][e]));
    uint32_t a_hi[4], a_lo[4], bf[4];
    tc::accumulators_to_a_fragment(x[0], x[1], a_hi);
    tc::accumulators_to_a_fragment(lo[0], lo[1], a_lo);
    const bf16* tjj = ts + j * kBlock * T::kLdt + j * kBlock;
    tc::load_matrix_x4_transposed(bf, tjj + ((lane & 7) + (((lane >> 3) & 1) << 3)) * T::kLdt + (lane >> 4) * 8);
    float y[2][4] = {};
    tc::mma_16x8x16(y[0], a_hi, bf[0], bf[1]);
    tc::mma_16x8x16(y[1], a_hi, bf[2], bf[3]);
    tc::mma_16x8x16(y[0], a_lo, bf[0], bf[1]);
    tc::mma_16x8x16(y[1], a_lo, bf[2], bf[3]);
    store_fragment_rows(y, ts + j * kBlock, T::kLdt, row0, -1.0f);
    __syncwarp();  // T_wj feeds the next block's X
  }

  {  // W = T diag(beta e^G) K: T's rows of this band are zero right of its diagonal block
    float acc[DK / 8][4] = {};
    scaled_t_times(
        acc, ts + row0 * T::kLdt, T::kLdt, warp + 1, [&](int j) { return bs[j] * __expf(gs[j]); }, ks, T::kLdk);
    __syncthreads();  // every warp done with K (and every band of T written)
    store_fragment_rows(acc, ks, T::kLdk, row0, 1.0f);
  }
  {  // U = T diag(beta) V
    float acc[DV / 8][4] = {};
    scaled_t_times(
        acc, ts + row0 * T::kLdt, T::kLdt, warp + 1, [&](int j) { return bs[j]; }, vs, T::kLdv);
    __syncthreads();  // every warp done with V
    store_fragment_rows(acc, vs, T::kLdv, row0, 1.0f);
  }
  __syncthreads();
  store_tile_tokens<DK>(ks, T::kLdk, w + gla_tc::head_offset(bh, d, DK), k_stride, t0, d.L);
  store_tile_tokens<DV>(vs, T::kLdv, u + gla_tc::head_offset(bh, d, DV), v_stride, t0, d.L);
  if (t_out) {  // backward keeps T: [64][64] per chunk, 16 bytes per step
    bf16* dst = t_out + static_cast<int64_t>(blockIdx.x) * kChunk * kChunk;
    for (int x = threadIdx.x; x < kChunk * kChunk / 8; x += kThreads) {
      const int i = x / 8, col = (x % 8) * 8;
      *reinterpret_cast<uint4*>(dst + i * kChunk + col) = *reinterpret_cast<const uint4*>(ts + i * T::kLdt + col);
    }
  }
}

template <int DK, int DV>
void launch(const bf16* k, const bf16* v, const float* beta, const float* decay, bf16* w, bf16* u, bf16* t,
            const ChunkGrid& d, cudaStream_t stream) {
  auto kernel = wy_prepare_blocked_kernel<DK, DV>;
  gla_tc::set_shared_bytes(kernel, WyBlockedTiles<DK, DV>::kBytes);
  kernel<<<d.BH * d.NC, kThreads, WyBlockedTiles<DK, DV>::kBytes, stream>>>(k, v, beta, decay, w, u, t, d);
  cudaCheckLaunch();
}

}  // namespace

void launch_wy_prepare_blocked(const bf16* k, const bf16* v, const float* beta_padded, const float* decay, bf16* w,
                               bf16* u, bf16* t, int dk, int dv, const ChunkGrid& d, cudaStream_t stream) {
  auto run = dk == 64 ? (dv == 64 ? launch<64, 64> : launch<64, 128>) : (dv == 64 ? launch<128, 64> : launch<128, 128>);
  run(k, v, beta_padded, decay, w, u, t, d, stream);
}

}  // namespace delta_tc
}  // namespace seqbench
