// Backward of the WY representation (delta_rule_tc_wy_cuda.cu; FLA's prepare_wy_repr_bwd): from dW and
// dU = dV_new, dT = (e^{G_j} dW K^T + dU V^T) diag(beta), dK += diag(beta e^G) T^T dW, dV = diag(beta) T^T dU,
// dA = -T^T dT T^T (strictly lower), and through A = diag(beta) K K^T (.) e^{G_i - G_j} into dK, dbeta and dG;
// then dlog_decay as the reverse cumulative sum of dG inside the chunk. Checked in test_gpu_delta_bf16.cpp.
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

// One block per (head, chunk), 8 warps: warp w owns chunk rows 16 (w % 4) .. + 15 and half the columns. Two
// blocks per SM, one loading while the other computes: dW, V and dU are spent once dT and T^T dW, T^T dU are
// formed, so T^T dT and z reuse their tiles (under 113 KiB of shared memory per block, 128 registers a thread).
constexpr int kThreads = 256;
constexpr int kLdz = kChunk + 1;  // fp32 beta_i z_ij, summed by column

template <int DK, int DV>
struct WyBwdTiles {
  static constexpr int kLdk = DK + 8, kLdv = DV + 8;
  static constexpr int kBf16 = 2 * kChunk * kScoreStride + 2 * kChunk * kLdk + 2 * kChunk * kLdv;
  static constexpr int kBytes = kBf16 * 2 + 9 * kChunk * 4;
  static_assert(kLdk >= kScoreStride, "T^T dT takes dW's tile");
  static_assert(kChunk * kLdz * 4 <= 2 * kChunk * kLdv * 2, "z takes the V and dU tiles");
};

template <int DK, int DV>
__global__ void __launch_bounds__(kThreads, 2)
    wy_bwd_kernel(const bf16* __restrict__ t_mat, const bf16* __restrict__ k, const bf16* __restrict__ v,
                  const float* __restrict__ beta, const float* __restrict__ decay, const bf16* __restrict__ dw,
                  const bf16* __restrict__ du, const float* __restrict__ dgate, bf16* __restrict__ dk,
                  bf16* __restrict__ dv, float* __restrict__ dbeta, float* __restrict__ dlog_decay, ChunkGrid d) {
  using T = WyBwdTiles<DK, DV>;
  constexpr int kLd = kScoreStride;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* ts = reinterpret_cast<bf16*>(smem_raw);                  // [64][kLd] T
  bf16* s1 = ts + kChunk * kLd;                                  // [64][kLd] dT, then diag(beta) dA (.) e^{G_i - G_j}
  bf16* ks = s1 + kChunk * kLd;                                  // [64][kLdk] K
  bf16* dws = ks + kChunk * T::kLdk;                             // [64][kLdk] dW
  bf16* vs = dws + kChunk * T::kLdk;                             // [64][kLdv] V
  bf16* dus = vs + kChunk * T::kLdv;                             // [64][kLdv] dU
  bf16* s2 = dws;                                                // [64][kLd] T^T dT, once dW is spent
  float* zs = reinterpret_cast<float*>(vs);                      // [64][kLdz], once V and dU are spent
  float* gs = reinterpret_cast<float*>(dus + kChunk * T::kLdv);  // [64] cumulative decays
  float* bs = gs + kChunk;                                       // [64] beta
  float* kb_dots = bs + kChunk;                                  // [2][64] k_j.(T^T dW)_j
  float* vb_dots = kb_dots + 2 * kChunk;                         // [2][64] v_j.(T^T dU)_j
  float* z_rows = vb_dots + 2 * kChunk;                          // [2][64] sum_j dA_ij e^{..} (k_i.k_j)
  float* dg = z_rows + 2 * kChunk;                               // [64] dL/dG_i

  const int bh = blockIdx.x / d.NC, c = blockIdx.x % d.NC, t0 = c * kChunk;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, row0 = 16 * (warp % 4), half = warp / 4;
  const int64_t k_off = gla_tc::head_offset(bh, d, DK), v_off = gla_tc::head_offset(bh, d, DV);
  const int64_t k_stride = static_cast<int64_t>(d.H) * DK, v_stride = static_cast<int64_t>(d.H) * DV;
  tc::load_tile_async<kChunk, kChunk, kLd, kThreads>(ts, t_mat + static_cast<int64_t>(blockIdx.x) * kChunk * kChunk,
                                                     kChunk, 0, kChunk);
  tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(ks, k + k_off, k_stride, t0, d.L);
  tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(dws, dw + k_off, k_stride, t0, d.L);
  tc::load_tile_async<kChunk, DV, T::kLdv, kThreads>(vs, v + v_off, v_stride, t0, d.L);
  tc::load_tile_async<kChunk, DV, T::kLdv, kThreads>(dus, du + v_off, v_stride, t0, d.L);
  gla_tc::load_chunk_decays_async(gs, decay, bh, c, d);
  if (threadIdx.x >= 32 && threadIdx.x < 48) {
    const int i = threadIdx.x - 32;
    tc::copy_async_16(bs + 4 * i, beta + static_cast<int64_t>(blockIdx.x) * kChunk + 4 * i, true);
  }
  tc::commit_async();
  tc::wait_async<0>();
  __syncthreads();

  const int lrow = lane / 4, lcol = 2 * (lane % 4);  // an m16n8 fragment's first row and column
  {  // dT = (e^{G_j} dW K^T + dU V^T) diag(beta); only its lower triangle reaches A (T is lower).
    float a[4][4] = {}, b[4][4] = {};
    tc::warp_mma<DK / 16, 4, Stored::by_row, Stored::by_column>(a, dws + row0 * T::kLdk, T::kLdk,
                                                                ks + 32 * half * T::kLdk, T::kLdk);
    tc::warp_mma<DV / 16, 4, Stored::by_row, Stored::by_column>(b, dus + row0 * T::kLdv, T::kLdv,
                                                                vs + 32 * half * T::kLdv, T::kLdv);
#pragma unroll
    for (int n = 0; n < 4; ++n)
#pragma unroll
      for (int h2 = 0; h2 < 2; ++h2) {
        const int i = row0 + lrow + 8 * h2, j = 32 * half + 8 * n + lcol;
        float x[2];
#pragma unroll
        for (int e = 0; e < 2; ++e)
          x[e] = j + e <= i ? bs[j + e] * (__expf(gs[j + e]) * a[n][2 * h2 + e] + b[n][2 * h2 + e]) : 0.0f;
        *reinterpret_cast<uint32_t*>(s1 + i * kLd + j) = tc::pack_bf16x2(x[0], x[1]);
      }
  }
  // T^T dW and T^T dU (T^T is the T tile read by column, zero left of the diagonal block).
  const int kcol0 = half * (DK / 2), vcol0 = half * (DV / 2);
  float dk_acc[DK / 16][4] = {};
  for (int kk = row0 / 16; kk < kChunk / 16; ++kk)
    tc::warp_mma<1, DK / 16, Stored::by_column, Stored::by_row>(dk_acc, ts + 16 * kk * kLd + row0, kLd,
                                                                dws + 16 * kk * T::kLdk + kcol0, T::kLdk);
  gla_tc::store_row_dots(dk_acc, ks, T::kLdk, row0, kcol0, kb_dots + half * kChunk);
  gla_tc::scale_rows(dk_acc, row0, [&](int j) { return bs[j] * __expf(gs[j]); });
  {
    float x[DV / 16][4] = {};
    for (int kk = row0 / 16; kk < kChunk / 16; ++kk)
      tc::warp_mma<1, DV / 16, Stored::by_column, Stored::by_row>(x, ts + 16 * kk * kLd + row0, kLd,
                                                                  dus + 16 * kk * T::kLdv + vcol0, T::kLdv);
    gla_tc::store_row_dots(x, vs, T::kLdv, row0, vcol0, vb_dots + half * kChunk);
    gla_tc::scale_rows(x, row0, [&](int j) { return bs[j]; });
    gla_tc::store_token_rows(x, dv + v_off, v_stride, t0, d.L, row0, vcol0);
  }
  __syncthreads();  // dT complete; dW, V and dU no longer read

  {  // T^T dT
    float x[4][4] = {};
    for (int kk = row0 / 16; kk < kChunk / 16; ++kk)
      tc::warp_mma<1, 4, Stored::by_column, Stored::by_row>(x, ts + 16 * kk * kLd + row0, kLd,
                                                            s1 + 16 * kk * kLd + 32 * half, kLd);
#pragma unroll
    for (int n = 0; n < 4; ++n)
#pragma unroll
      for (int h2 = 0; h2 < 2; ++h2)
        *reinterpret_cast<uint32_t*>(s2 + (row0 + lrow + 8 * h2) * kLd + 32 * half + 8 * n + lcol) =
            tc::pack_bf16x2(x[n][2 * h2], x[n][2 * h2 + 1]);
  }
  __syncthreads();  // T^T dT complete; dT no longer read

  {  // dA = -(T^T dT) T^T, strictly lower; with KK = K K^T and E = e^{G_i - G_j}: diag(beta) dA (.) E into s1
     // (the K-gradient's operand), z = dA (.) E (.) KK summed by row (dbeta) and, times beta_i, by column (dG).
    float x[4][4] = {}, kk_t[4][4] = {};
    tc::warp_mma<kChunk / 16, 4, Stored::by_row, Stored::by_column>(x, s2 + row0 * kLd, kLd, ts + 32 * half * kLd, kLd);
    tc::warp_mma<DK / 16, 4, Stored::by_row, Stored::by_column>(kk_t, ks + row0 * T::kLdk, T::kLdk,
                                                                ks + 32 * half * T::kLdk, T::kLdk);
    float row_sum[2] = {0.0f, 0.0f};
#pragma unroll
    for (int n = 0; n < 4; ++n)
#pragma unroll
      for (int h2 = 0; h2 < 2; ++h2) {
        const int i = row0 + lrow + 8 * h2, j = 32 * half + 8 * n + lcol;
        float a[2];
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const bool lower = j + e < i;
          const float decay_ij = lower ? __expf(gs[i] - gs[j + e]) : 0.0f;
          const float da = -x[n][2 * h2 + e] * decay_ij;
          const float z = da * kk_t[n][2 * h2 + e];
          a[e] = bs[i] * da;
          row_sum[h2] += z;
          zs[i * kLdz + j + e] = bs[i] * z;
        }
        *reinterpret_cast<uint32_t*>(s1 + i * kLd + j) = tc::pack_bf16x2(a[0], a[1]);
      }
#pragma unroll
    for (int h2 = 0; h2 < 2; ++h2) {
      row_sum[h2] += __shfl_xor_sync(0xffffffffu, row_sum[h2], 1);
      row_sum[h2] += __shfl_xor_sync(0xffffffffu, row_sum[h2], 2);
    }
    if (lane % 4 == 0) {
      z_rows[half * kChunk + row0 + lrow] = row_sum[0];
      z_rows[half * kChunk + row0 + lrow + 8] = row_sum[1];
    }
  }
  __syncthreads();  // s1 holds diag(beta) dA (.) E; zs and the row sums complete

  // dK += S K + S^T K, S = s1 strictly lower (so S K stops at the diagonal block, S^T K starts there).
  for (int kk = 0; kk <= row0 / 16; ++kk)
    tc::warp_mma<1, DK / 16, Stored::by_row, Stored::by_row>(dk_acc, s1 + row0 * kLd + 16 * kk, kLd,
                                                             ks + 16 * kk * T::kLdk + kcol0, T::kLdk);
  for (int kk = row0 / 16; kk < kChunk / 16; ++kk)
    tc::warp_mma<1, DK / 16, Stored::by_column, Stored::by_row>(dk_acc, s1 + 16 * kk * kLd + row0, kLd,
                                                                ks + 16 * kk * T::kLdk + kcol0, T::kLdk);
  {  // plus the output's and state's share, which the chunk-gradient kernel left in dk
    bf16* dk_h = dk + k_off;
#pragma unroll
    for (int h2 = 0; h2 < 2; ++h2) {
      const int t = t0 + row0 + lrow + 8 * h2;
      if (t >= d.L) continue;
      bf16* row = dk_h + t * k_stride + kcol0 + lcol;
#pragma unroll
      for (int n = 0; n < DK / 16; ++n) {
        const float2 part = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(row + 8 * n));
        *reinterpret_cast<uint32_t*>(row + 8 * n) =
            tc::pack_bf16x2(part.x + dk_acc[n][2 * h2], part.y + dk_acc[n][2 * h2 + 1]);
      }
    }
  }

  if (threadIdx.x < kChunk) {
    const int i = threadIdx.x, t = t0 + i;
    const float kb = kb_dots[i] + kb_dots[kChunk + i], z_row = z_rows[i] + z_rows[kChunk + i];
    const float e_g = __expf(gs[i]);
    if (t < d.L)
      dbeta[gla_tc::head_offset(bh, d, 1) + static_cast<int64_t>(t) * d.H] =
          e_g * kb + vb_dots[i] + vb_dots[kChunk + i] + z_row;
    if (dlog_decay) {
      float column = 0.0f;
      for (int r = 0; r < kChunk; ++r) column += zs[r * kLdz + i];
      dg[i] = dgate[static_cast<int64_t>(blockIdx.x) * kChunk + i] + bs[i] * (e_g * kb + z_row) - column;
    }
  }
  if (!dlog_decay) return;
  __syncthreads();
  if (threadIdx.x < kChunk && t0 + static_cast<int>(threadIdx.x) < d.L) {  // g_t enters every G_i with i >= t
    float sum = 0.0f;
    for (int i = threadIdx.x; i < kChunk; ++i) sum += dg[i];
    dlog_decay[gla_tc::head_offset(bh, d, 1) + static_cast<int64_t>(t0 + threadIdx.x) * d.H] = sum;
  }
}

template <int DK, int DV>
void launch(const bf16* t, const bf16* k, const bf16* v, const float* beta, const float* decay, const bf16* dw,
            const bf16* du, const float* dgate, bf16* dk, bf16* dv, float* dbeta, float* dlog_decay, const ChunkGrid& d,
            cudaStream_t stream) {
  auto kernel = wy_bwd_kernel<DK, DV>;
  gla_tc::set_shared_bytes(kernel, WyBwdTiles<DK, DV>::kBytes);
  kernel<<<d.BH * d.NC, kThreads, WyBwdTiles<DK, DV>::kBytes, stream>>>(t, k, v, beta, decay, dw, du, dgate, dk, dv,
                                                                        dbeta, dlog_decay, d);
  cudaCheckLaunch();
}

}  // namespace

void launch_wy_bwd(const bf16* t, const bf16* k, const bf16* v, const float* beta_padded, const float* decay,
                   const bf16* dw, const bf16* du, const float* dgate, bf16* dk, bf16* dv, float* dbeta,
                   float* dlog_decay, int dk_dim, int dv_dim, const ChunkGrid& d, cudaStream_t stream) {
  auto run = dk_dim == 64 ? (dv_dim == 64 ? launch<64, 64> : launch<64, 128>)
                          : (dv_dim == 64 ? launch<128, 64> : launch<128, 128>);
  run(t, k, v, beta_padded, decay, dw, du, dgate, dk, dv, dbeta, dlog_decay, d, stream);
}

}  // namespace delta_tc
}  // namespace seqbench
