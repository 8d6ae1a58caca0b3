// Per-chunk gradients of the (gated) delta rule's WY-form output and state update (FLA's chunk_bwd_dqkwg):
// with V_new = U - W H, P = (dO V_new^T) (.) causal (.) e^{G_i - G_j} and dH the gradient at the chunk's end,
// dQ = diag(e^G) dO H^T + P K, dK = P^T Q + diag(e^{G_63 - G_j}) V_new dH^T, dW = -dV_new H^T, and
// dL/dG_i = q_i.dq_i - k_i.dk_i (+ e^{G_63} <H, dH> + sum_j k_j.dk_state_j at i = 63). Also the dV_local of the
// intra-chunk output, (K Q^T (.) anticausal (.) e^{G_i - G_j}) dO. Checked in test_gpu_delta_bf16.cpp.
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

// One block per (head, chunk), 8 warps: warp w owns chunk rows 16 (w % 4) .. + 15 and half the columns (of
// the 64 x 64 scores: 32; of a [64, D] product: D / 2).
constexpr int kThreads = 256;

template <int DK, int DV>
struct GradTiles {
  static constexpr int kLdk = DK + 8, kLdv = DV + 8;
  static constexpr int kBf16 = 3 * kChunk * kLdk + 3 * kChunk * kLdv + 2 * DK * kLdv + kChunk * kScoreStride;
  static constexpr int kBytes = kBf16 * 2 + (kChunk + 6 * kChunk + 8) * 4;
};

template <int DK, int DV>
__global__ void __launch_bounds__(kThreads)
    chunk_grads_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ w,
                       const bf16* __restrict__ u, bool u_is_v_new, const bf16* __restrict__ states,
                       const bf16* __restrict__ dout, const bf16* __restrict__ dv_new, const bf16* __restrict__ dstates,
                       const float* __restrict__ decay, bf16* __restrict__ dq, bf16* __restrict__ dk,
                       bf16* __restrict__ dw, float* __restrict__ dgate, ChunkGrid d) {
  using T = GradTiles<DK, DV>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* qs = reinterpret_cast<bf16*>(smem_raw);                      // [64][kLdk]
  bf16* ks = qs + kChunk * T::kLdk;                                  // [64][kLdk]
  bf16* wt = ks + kChunk * T::kLdk;                                  // [64][kLdk] W
  bf16* vn = wt + kChunk * T::kLdk;                                  // [64][kLdv] U, then V_new (or V_new)
  bf16* dos = vn + kChunk * T::kLdv;                                 // [64][kLdv] dO
  bf16* dvs = dos + kChunk * T::kLdv;                                // [64][kLdv] dV_new
  bf16* hs = dvs + kChunk * T::kLdv;                                 // [DK][kLdv] H at the chunk's start
  bf16* dhs = hs + DK * T::kLdv;                                     // [DK][kLdv] dH at its end
  bf16* ps = dhs + DK * T::kLdv;                                     // [64][kScoreStride] P
  float* gs = reinterpret_cast<float*>(ps + kChunk * kScoreStride);  // [64] cumulative decays
  float* q_dots = gs + kChunk;                                       // [2][64] q_i.dq_i per column half
  float* k_dots = q_dots + 2 * kChunk;                               // [2][64] k_i.dk_i
  float* state_dots = k_dots + 2 * kChunk;                           // [2][64] k_i.dk_state_i
  float* h_dots = state_dots + 2 * kChunk;                           // [8] <H, dH> per warp

  const int bh = blockIdx.x / d.NC, c = blockIdx.x % d.NC, t0 = c * kChunk;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, row0 = 16 * (warp % 4), half = warp / 4;
  const int64_t k_off = gla_tc::head_offset(bh, d, DK), v_off = gla_tc::head_offset(bh, d, DV);
  const int64_t k_stride = static_cast<int64_t>(d.H) * DK, v_stride = static_cast<int64_t>(d.H) * DV;
  const int64_t state_off = static_cast<int64_t>(blockIdx.x) * DK * DV;  // blockIdx.x = bh * NC + c
  if (!u_is_v_new) tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(wt, w + k_off, k_stride, t0, d.L);
  tc::load_tile_async<kChunk, DV, T::kLdv, kThreads>(vn, u + v_off, v_stride, t0, d.L);
  tc::load_tile_async<DK, DV, T::kLdv, kThreads>(hs, states + state_off, DV, 0, DK);
  tc::load_tile_async<kChunk, DV, T::kLdv, kThreads>(dos, dout + v_off, v_stride, t0, d.L);
  gla_tc::load_chunk_decays_async(gs, decay, bh, c, d);
  tc::commit_async();
  tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(qs, q + k_off, k_stride, t0, d.L);
  tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(ks, k + k_off, k_stride, t0, d.L);
  tc::load_tile_async<kChunk, DV, T::kLdv, kThreads>(dvs, dv_new + v_off, v_stride, t0, d.L);
  tc::load_tile_async<DK, DV, T::kLdv, kThreads>(dhs, dstates + state_off, DV, 0, DK);
  tc::commit_async();
  tc::wait_async<1>();
  __syncthreads();

  if (!u_is_v_new) {  // V_new = U - W H, in place over U (each element read and written by the thread owning it).
    float x[DV / 16][4] = {};
    tc::warp_mma<DK / 16, DV / 16, Stored::by_row, Stored::by_row>(x, wt + row0 * T::kLdk, T::kLdk,
                                                                   hs + half * (DV / 2), T::kLdv);
#pragma unroll
    for (int n = 0; n < DV / 16; ++n)
#pragma unroll
      for (int h2 = 0; h2 < 2; ++h2) {
        __nv_bfloat162* p = reinterpret_cast<__nv_bfloat162*>(vn + (row0 + lane / 4 + 8 * h2) * T::kLdv +
                                                              half * (DV / 2) + 8 * n + 2 * (lane % 4));
        const float2 uu = __bfloat1622float2(*p);
        *p = __floats2bfloat162_rn(uu.x - x[n][2 * h2], uu.y - x[n][2 * h2 + 1]);
      }
  }
  tc::wait_async<0>();
  __syncthreads();  // V_new complete; Q, K, dV_new and dH visible

  {  // P: this warp's 16 rows x 32 columns.
    float s[4][4] = {};
    tc::warp_mma<DV / 16, 4, Stored::by_row, Stored::by_column>(s, dos + row0 * T::kLdv, T::kLdv,
                                                                vn + 32 * half * T::kLdv, T::kLdv);
    gla_tc::store_decayed_scores<true>(s, row0, 32 * half, gs, 1.0f, ps);
  }
  {  // dW = -dV_new H^T (H^T is the H tile read by column).
    float x[DK / 16][4] = {};
    tc::warp_mma<DV / 16, DK / 16, Stored::by_row, Stored::by_column>(x, dvs + row0 * T::kLdv, T::kLdv,
                                                                      hs + half * (DK / 2) * T::kLdv, T::kLdv);
    gla_tc::scale_rows(x, row0, [](int) { return -1.0f; });
    gla_tc::store_token_rows(x, dw + k_off, k_stride, t0, d.L, row0, half * (DK / 2));
  }
  if (dgate) {  // <H, dH> over the whole state, one partial per warp
    float sum = 0.0f;
    for (int x = threadIdx.x; x < DK * DV / 2; x += kThreads) {
      const int r = (2 * x) / DV, col = (2 * x) % DV;
      const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(hs + r * T::kLdv + col));
      const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(dhs + r * T::kLdv + col));
      sum += a.x * b.x + a.y * b.y;
    }
#pragma unroll
    for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (lane == 0) h_dots[warp] = sum;
  }
  __syncthreads();  // P complete

  const int col0 = half * (DK / 2);
  {  // dQ = diag(e^G) dO H^T + P K; P is zero right of the diagonal block.
    float x[DK / 16][4] = {};
    tc::warp_mma<DV / 16, DK / 16, Stored::by_row, Stored::by_column>(x, dos + row0 * T::kLdv, T::kLdv,
                                                                      hs + col0 * T::kLdv, T::kLdv);
    gla_tc::scale_rows(x, row0, [&](int i) { return __expf(gs[i]); });
    for (int kk = 0; kk <= row0 / 16; ++kk)
      tc::warp_mma<1, DK / 16, Stored::by_row, Stored::by_row>(x, ps + row0 * kScoreStride + 16 * kk, kScoreStride,
                                                               ks + 16 * kk * T::kLdk + col0, T::kLdk);
    gla_tc::store_token_rows(x, dq + k_off, k_stride, t0, d.L, row0, col0);
    if (dgate) gla_tc::store_row_dots(x, qs, T::kLdk, row0, col0, q_dots + half * kChunk);
  }
  {  // dK = diag(e^{G_63 - G_j}) V_new dH^T + P^T Q; P^T is zero left of the diagonal block.
    float x[DK / 16][4] = {};
    tc::warp_mma<DV / 16, DK / 16, Stored::by_row, Stored::by_column>(x, vn + row0 * T::kLdv, T::kLdv,
                                                                      dhs + col0 * T::kLdv, T::kLdv);
    const float total = gs[kChunk - 1];
    gla_tc::scale_rows(x, row0, [&](int j) { return __expf(total - gs[j]); });
    if (dgate) gla_tc::store_row_dots(x, ks, T::kLdk, row0, col0, state_dots + half * kChunk);
    for (int kk = row0 / 16; kk < kChunk / 16; ++kk)
      tc::warp_mma<1, DK / 16, Stored::by_column, Stored::by_row>(x, ps + 16 * kk * kScoreStride + row0, kScoreStride,
                                                                  qs + 16 * kk * T::kLdk + col0, T::kLdk);
    gla_tc::store_token_rows(x, dk + k_off, k_stride, t0, d.L, row0, col0);
    if (dgate) gla_tc::store_row_dots(x, ks, T::kLdk, row0, col0, k_dots + half * kChunk);
  }
  if (!dgate) return;
  __syncthreads();  // every row dot and <H, dH> partial is in place
  if (threadIdx.x < kChunk) {
    const int i = threadIdx.x;
    float g = q_dots[i] + q_dots[kChunk + i] - k_dots[i] - k_dots[kChunk + i];
    if (i == kChunk - 1) {  // G_63 scales the carried state and every token's share of the update
      float carried = 0.0f, added = 0.0f;
      for (int x = 0; x < kThreads / 32; ++x) carried += h_dots[x];
      for (int j = 0; j < kChunk; ++j) added += state_dots[j] + state_dots[kChunk + j];
      g += __expf(gs[kChunk - 1]) * carried + added;
    }
    dgate[static_cast<int64_t>(blockIdx.x) * kChunk + i] = g;
  }
}

// dV_local = (K Q^T (.) [i >= j] e^{G_i - G_j}) dO, row j: one block per (head, chunk), 8 warps as above.
template <int DK, int DV>
struct LocalTiles {
  static constexpr int kLdk = DK + 8, kLdv = DV + 8;
  static constexpr int kBytes = (2 * kChunk * kLdk + kChunk * kLdv + kChunk * kScoreStride) * 2 + kChunk * 4;
};

template <int DK, int DV>
__global__ void __launch_bounds__(kThreads)
    dv_local_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ dout,
                    const float* __restrict__ decay, bf16* __restrict__ dv_local, ChunkGrid d) {
  using T = LocalTiles<DK, DV>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* qs = reinterpret_cast<bf16*>(smem_raw);  // [64][kLdk]
  bf16* ks = qs + kChunk * T::kLdk;              // [64][kLdk]
  bf16* dos = ks + kChunk * T::kLdk;             // [64][kLdv]
  bf16* ps = dos + kChunk * T::kLdv;             // [64][kScoreStride] K Q^T, masked and decayed
  float* gs = reinterpret_cast<float*>(ps + kChunk * kScoreStride);

  const int bh = blockIdx.x / d.NC, c = blockIdx.x % d.NC, t0 = c * kChunk;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, row0 = 16 * (warp % 4), half = warp / 4;
  const int64_t k_off = gla_tc::head_offset(bh, d, DK), v_off = gla_tc::head_offset(bh, d, DV);
  const int64_t k_stride = static_cast<int64_t>(d.H) * DK, v_stride = static_cast<int64_t>(d.H) * DV;
  tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(qs, q + k_off, k_stride, t0, d.L);
  tc::load_tile_async<kChunk, DK, T::kLdk, kThreads>(ks, k + k_off, k_stride, t0, d.L);
  tc::load_tile_async<kChunk, DV, T::kLdv, kThreads>(dos, dout + v_off, v_stride, t0, d.L);
  gla_tc::load_chunk_decays_async(gs, decay, bh, c, d);
  tc::commit_async();
  tc::wait_async<0>();
  __syncthreads();
  {
    float s[4][4] = {};
    tc::warp_mma<DK / 16, 4, Stored::by_row, Stored::by_column>(s, ks + row0 * T::kLdk, T::kLdk,
                                                                qs + 32 * half * T::kLdk, T::kLdk);
#pragma unroll
    for (int n = 0; n < 4; ++n)
#pragma unroll
      for (int h2 = 0; h2 < 2; ++h2) {
        const int j = row0 + lane / 4 + 8 * h2, i = 32 * half + 8 * n + 2 * (lane % 4);
        const float x0 = i >= j ? s[n][2 * h2] * __expf(gs[i] - gs[j]) : 0.0f;
        const float x1 = i + 1 >= j ? s[n][2 * h2 + 1] * __expf(gs[i + 1] - gs[j]) : 0.0f;
        *reinterpret_cast<uint32_t*>(ps + j * kScoreStride + i) = tc::pack_bf16x2(x0, x1);
      }
  }
  __syncthreads();
  float x[DV / 16][4] = {};
  for (int kk = row0 / 16; kk < kChunk / 16; ++kk)  // zero left of the diagonal block
    tc::warp_mma<1, DV / 16, Stored::by_row, Stored::by_row>(x, ps + row0 * kScoreStride + 16 * kk, kScoreStride,
                                                             dos + 16 * kk * T::kLdv + half * (DV / 2), T::kLdv);
  gla_tc::store_token_rows(x, dv_local + v_off, v_stride, t0, d.L, row0, half * (DV / 2));
}

template <int DK, int DV>
void launch_grads(const bf16* q, const bf16* k, const bf16* w, const bf16* u, bool u_is_v_new, const bf16* states,
                  const bf16* dout, const bf16* dv_new, const bf16* dstates, const float* decay, bf16* dq, bf16* dk,
                  bf16* dw, float* dgate, const ChunkGrid& d, cudaStream_t stream) {
  auto kernel = chunk_grads_kernel<DK, DV>;
  gla_tc::set_shared_bytes(kernel, GradTiles<DK, DV>::kBytes);
  kernel<<<d.BH * d.NC, kThreads, GradTiles<DK, DV>::kBytes, stream>>>(q, k, w, u, u_is_v_new, states, dout, dv_new,
                                                                       dstates, decay, dq, dk, dw, dgate, d);
  cudaCheckLaunch();
}

template <int DK, int DV>
void launch_local(const bf16* q, const bf16* k, const bf16* dout, const float* decay, bf16* dv_local,
                  const ChunkGrid& d, cudaStream_t stream) {
  auto kernel = dv_local_kernel<DK, DV>;
  gla_tc::set_shared_bytes(kernel, LocalTiles<DK, DV>::kBytes);
  kernel<<<d.BH * d.NC, kThreads, LocalTiles<DK, DV>::kBytes, stream>>>(q, k, dout, decay, dv_local, d);
  cudaCheckLaunch();
}

}  // namespace

void launch_chunk_grads(const bf16* q, const bf16* k, const bf16* w, const bf16* u, bool u_is_v_new, const bf16* states,
                        const bf16* dout, const bf16* dv_new, const bf16* dstates, const float* decay, bf16* dq,
                        bf16* dk, bf16* dw, float* dgate, int dk_dim, int dv_dim, const ChunkGrid& d,
                        cudaStream_t stream) {
  auto run = dk_dim == 64 ? (dv_dim == 64 ? launch_grads<64, 64> : launch_grads<64, 128>)
                          : (dv_dim == 64 ? launch_grads<128, 64> : launch_grads<128, 128>);
  run(q, k, w, u, u_is_v_new, states, dout, dv_new, dstates, decay, dq, dk, dw, dgate, d, stream);
}

void launch_dv_local(const bf16* q, const bf16* k, const bf16* dout, const float* decay, bf16* dv_local, int dk_dim,
                     int dv_dim, const ChunkGrid& d, cudaStream_t stream) {
  auto run = dk_dim == 64 ? (dv_dim == 64 ? launch_local<64, 64> : launch_local<64, 128>)
                          : (dv_dim == 64 ? launch_local<128, 64> : launch_local<128, 128>);
  run(q, k, dout, decay, dv_local, d, stream);
}

}  // namespace delta_tc
}  // namespace seqbench
