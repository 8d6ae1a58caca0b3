// The WY representation of one 64-token chunk of the (gated) delta rule (Yang et al. 2024, sec. 3.2, the UT
// transform): A = strictly-lower(diag(beta) K K^T (.) e^{G_i - G_j}), T = (I + A)^{-1}, W = T diag(beta e^G) K,
// U = T diag(beta) V. Checked through the forward and backward against the CPU kernels in test_gpu_delta_bf16.cpp.
#include <cuda_bf16.h>

#include <cstdint>

#include "mixers/delta/delta_rule_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace delta_tc {
namespace {

using tc::Stored;

// One block per (head, chunk), 4 warps; warp w owns chunk rows 16 w .. 16 w + 15 of every product.
constexpr int kThreads = 128;

template <int DK, int DV>
struct WyTiles {
  static constexpr int kLdk = DK + 8, kLdv = DV + 8, kLdt = kChunk + 8;  // bf16 rows, conflict-free ldmatrix
  static constexpr int kLda = kChunk + 1;                                // fp32 A, read by broadcast
  static constexpr int kBytes = (kChunk * kLdk + kChunk * kLdv + kChunk * kLdt) * 2 + (kChunk * kLda + 2 * kChunk) * 4;
};

// (I + A)^{-1} for strictly lower A by forward substitution, one column per thread (the columns are
// independent: x = (I + A)^{-1} e_c solves x_i = [i == c] - sum_{j<i} A_ij x_j). In fp32 and fully unrolled,
// x stays in registers; every lane reads the same A_ij, a shared-memory broadcast. Four partial sums per row
// cut the dependent FMA chain of a row fourfold.
__device__ __forceinline__ void solve_unit_lower_column(const float* __restrict__ a, int lda, int col, bf16* t,
                                                        int ldt) {
  float x[kChunk];
#pragma unroll
  for (int i = 0; i < kChunk; ++i) {
    float part[4] = {i == col ? 1.0f : 0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
    for (int j = 0; j < i; ++j) part[j % 4] -= a[i * lda + j] * x[j];
    x[i] = (part[0] + part[1]) + (part[2] + part[3]);
    t[i * ldt + col] = __float2bfloat16(x[i]);
  }
}

template <int DK, int DV>
__global__ void __launch_bounds__(kThreads)
    wy_prepare_kernel(const bf16* __restrict__ k, const bf16* __restrict__ v, const float* __restrict__ beta,
                      const float* __restrict__ decay, bf16* __restrict__ w, bf16* __restrict__ u,
                      bf16* __restrict__ t_out, ChunkGrid d) {
  using T = WyTiles<DK, DV>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* ks = reinterpret_cast<bf16*>(smem_raw);                 // [64][kLdk] K, then diag(beta e^G) K
  bf16* vs = ks + kChunk * T::kLdk;                             // [64][kLdv] V, then diag(beta) V
  bf16* ts = vs + kChunk * T::kLdv;                             // [64][kLdt] T
  float* as = reinterpret_cast<float*>(ts + kChunk * T::kLdt);  // [64][kLda] A
  float* gs = as + kChunk * T::kLda;                            // [64] cumulative decays
  float* bs = gs + kChunk;                                      // [64] beta (0 past L)

  const int bh = blockIdx.x / d.NC, c = blockIdx.x % d.NC, t0 = c * kChunk;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, row0 = 16 * warp;
  const int64_t k_stride = static_cast<int64_t>(d.H) * DK, v_stride = static_cast<int64_t>(d.H) * DV;
  tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(ks, k + gla_tc::head_offset(bh, d, DK), k_stride, t0, d.L);
  tc::load_tile_async<kChunk, DV, T::kLdv, kThreads>(vs, v + gla_tc::head_offset(bh, d, DV), v_stride, t0, d.L);
  gla_tc::load_chunk_decays_async(gs, decay, bh, c, d);
  if (threadIdx.x >= 32 && threadIdx.x < 48) {  // beta, 16 bytes per thread of a second group of 16
    const int i = threadIdx.x - 32;
    tc::copy_async_16(bs + 4 * i, beta + (static_cast<int64_t>(bh) * d.NC + c) * kChunk + 4 * i, true);
  }
  tc::commit_async();
  tc::wait_async<0>();
  __syncthreads();

  {  // A: this warp's 16 rows, all 64 columns; zero on and above the diagonal.
    float s[8][4] = {};
    tc::warp_mma<DK / 16, 8, Stored::by_row, Stored::by_column>(s, ks + row0 * T::kLdk, T::kLdk, ks, T::kLdk);
#pragma unroll
    for (int n = 0; n < 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int i = row0 + lane / 4 + 8 * (e / 2), j = 8 * n + 2 * (lane % 4) + e % 2;
        as[i * T::kLda + j] = j < i ? bs[i] * s[n][e] * __expf(gs[i] - gs[j]) : 0.0f;
      }
  }
  __syncthreads();  // A complete; K and V are free to rescale

  if (threadIdx.x < kChunk) {
    solve_unit_lower_column(as, T::kLda, threadIdx.x, ts, T::kLdt);
  } else {  // meanwhile the other two warps scale the rows of K and V
    for (int x = threadIdx.x - kChunk; x < kChunk * (DK + DV) / 2; x += kThreads - kChunk) {
      const int pair = 2 * x, i = pair / (DK + DV), col = pair % (DK + DV);
      const bool is_k = col < DK;
      __nv_bfloat162* p =
          reinterpret_cast<__nv_bfloat162*>(is_k ? ks + i * T::kLdk + col : vs + i * T::kLdv + col - DK);
      const float f = is_k ? bs[i] * __expf(gs[i]) : bs[i];
      const float2 y = __bfloat1622float2(*p);
      *p = __floats2bfloat162_rn(f * y.x, f * y.y);
    }
  }
  __syncthreads();

  if (t_out) {  // backward keeps T: [64][64] per chunk, 16 bytes per step
    bf16* dst = t_out + static_cast<int64_t>(blockIdx.x) * kChunk * kChunk;
    for (int x = threadIdx.x; x < kChunk * kChunk / 8; x += kThreads) {
      const int i = x / 8, col = (x % 8) * 8;
      *reinterpret_cast<uint4*>(dst + i * kChunk + col) = *reinterpret_cast<const uint4*>(ts + i * T::kLdt + col);
    }
  }
  {
    float acc[DK / 8][4] = {};
    tc::warp_mma<kChunk / 16, DK / 8, Stored::by_row, Stored::by_row>(acc, ts + row0 * T::kLdt, T::kLdt, ks, T::kLdk);
    gla_tc::store_token_rows(acc, w + gla_tc::head_offset(bh, d, DK), k_stride, t0, d.L, row0, 0);
  }
  {
    float acc[DV / 8][4] = {};
    tc::warp_mma<kChunk / 16, DV / 8, Stored::by_row, Stored::by_row>(acc, ts + row0 * T::kLdt, T::kLdt, vs, T::kLdv);
    gla_tc::store_token_rows(acc, u + gla_tc::head_offset(bh, d, DV), v_stride, t0, d.L, row0, 0);
  }
}

template <int DK, int DV>
void launch(const bf16* k, const bf16* v, const float* beta, const float* decay, bf16* w, bf16* u, bf16* t,
            const ChunkGrid& d, cudaStream_t stream) {
  auto kernel = wy_prepare_kernel<DK, DV>;
  gla_tc::set_shared_bytes(kernel, WyTiles<DK, DV>::kBytes);
  kernel<<<d.BH * d.NC, kThreads, WyTiles<DK, DV>::kBytes, stream>>>(k, v, beta, decay, w, u, t, d);
  cudaCheckLaunch();
}

}  // namespace

void launch_wy_prepare(const bf16* k, const bf16* v, const float* beta_padded, const float* decay, bf16* w, bf16* u,
                       bf16* t, int dk, int dv, bool blocked, const ChunkGrid& d, cudaStream_t stream) {
  if (blocked) {
    launch_wy_prepare_blocked(k, v, beta_padded, decay, w, u, t, dk, dv, d, stream);
    return;
  }
  auto run = dk == 64 ? (dv == 64 ? launch<64, 64> : launch<64, 128>) : (dv == 64 ? launch<128, 64> : launch<128, 128>);
  run(k, v, beta_padded, decay, w, u, t, d, stream);
}

}  // namespace delta_tc
}  // namespace seqbench
