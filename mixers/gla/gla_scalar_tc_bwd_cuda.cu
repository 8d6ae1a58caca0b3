// Scalar-decay GLA backward on bf16 tensor cores, per 64-token chunk with b its cumulative decay, S0 the
// state at its start and R = dL/dS at its end: dA_ij = scale (do_i . v_j) e^{b_i - b_j} (j <= i),
// dq = scale e^{b} (dO S0^T) + dA K, dk = e^{b_63 - b} (V R^T) + dA^T Q, dv = e^{b_63 - b} (K R) + A^T dO, and
// dL/dg_s = sum_{t >= s} (q_t . dq_t - k_t . dk_t) (GLA Sec. 4.3). Checked against gla_bwd_cpu in test_gpu_gla.cpp.
#include <cuda_bf16.h>

#include <stdexcept>
#include <string>

#include "mixers/gla/gla_scalar_bf16.cuh"
#include "mixers/gla/gla_scalar_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace gla_tc {
namespace {

using tc::Stored;

// One block per (head, chunk), 8 warps; warp w owns chunk rows 16 (w % 4) .. + 15 and half the columns
// of each gradient. Scores first (warps 0-3: A, warps 4-7: dA), then dq, dk and dv one after another, so
// a single 16 x 64 accumulator tile is live at a time.
constexpr int kGradThreads = 256;

template <int DK, int DV>
struct GradTiles {
  static constexpr int kLdk = DK + 8, kLdv = DV + 8;
  static constexpr int kBytes = (2 * kChunk * kLdk + 2 * kChunk * kLdv + 2 * DK * kLdv + 2 * kChunk * kScoreStride) * 2 +
                                kChunk * 4 + 4 * kChunk * 4;
};

template <int DK, int DV, bool kDecay>
__global__ void __launch_bounds__(kGradThreads, 1)
    chunk_grad_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                      const bf16* __restrict__ dout, const bf16* __restrict__ states,
                      const bf16* __restrict__ dstates, const float* __restrict__ b, bf16* __restrict__ dq,
                      bf16* __restrict__ dk, bf16* __restrict__ dv, float* __restrict__ qdq_minus_kdk, float scale,
                      ChunkGrid d) {
  using T = GradTiles<DK, DV>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* qs = reinterpret_cast<bf16*>(smem_raw);  // [64][kLdk]
  bf16* ks = qs + kChunk * T::kLdk;              // [64][kLdk]
  bf16* vs = ks + kChunk * T::kLdk;              // [64][kLdv]
  bf16* dos = vs + kChunk * T::kLdv;             // [64][kLdv]
  bf16* hs = dos + kChunk * T::kLdv;             // [DK][kLdv] S0
  bf16* rs = hs + DK * T::kLdv;                  // [DK][kLdv] R
  bf16* as = rs + DK * T::kLdv;                  // [64][kScoreStride] A (decayed, masked, scaled)
  bf16* das = as + kChunk * kScoreStride;        // [64][kScoreStride] dA
  float* bs = reinterpret_cast<float*>(das + kChunk * kScoreStride);  // [64]
  float* q_dots = bs + kChunk;                   // [2][64] q_i . dq_i over each column half
  float* k_dots = q_dots + 2 * kChunk;           // [2][64] k_j . dk_j

  const int bh = blockIdx.x / d.NC, c = blockIdx.x % d.NC, t0 = c * kChunk;
  const int warp = threadIdx.x / 32, row0 = 16 * (warp % 4), half = warp / 4;
  // q and k may be shared by a group of heads (qk_head_offset); dq and dk are always per head.
  const int64_t qk_stride = static_cast<int64_t>(d.QK) * DK, v_stride = static_cast<int64_t>(d.H) * DV;
  const int64_t dqk_stride = static_cast<int64_t>(d.H) * DK;
  const int64_t qk_in = qk_head_offset(bh, d, DK), qk_head = head_offset(bh, d, DK), v_head = head_offset(bh, d, DV);
  const int64_t state = (static_cast<int64_t>(bh) * d.NC + c) * DK * DV;
  tc::load_tile_async<kChunk, DK, T::kLdk, kGradThreads>(qs, q + qk_in, qk_stride, t0, d.L);
  tc::load_tile_async<kChunk, DK, T::kLdk, kGradThreads>(ks, k + qk_in, qk_stride, t0, d.L);
  tc::load_tile_async<kChunk, DV, T::kLdv, kGradThreads>(vs, v + v_head, v_stride, t0, d.L);
  tc::load_tile_async<kChunk, DV, T::kLdv, kGradThreads>(dos, dout + v_head, v_stride, t0, d.L);
  if (kDecay) load_chunk_decays_async(bs, b, bh, c, d);
  tc::commit_async();
  // Three copy groups, so the scores start while S0 (needed from dq on) and R (from dk on) are in flight:
  // at one block per SM nothing else would hide those loads.
  tc::load_tile_async<DK, DV, T::kLdv, kGradThreads>(hs, states + state, DV, 0, DK);
  tc::commit_async();
  tc::load_tile_async<DK, DV, T::kLdv, kGradThreads>(rs, dstates + state, DV, 0, DK);
  tc::commit_async();
  tc::wait_async<2>();
  __syncthreads();

  {  // A = scale (Q K^T) e^{b_i - b_j} and dA = scale (dO V^T) e^{b_i - b_j}, lower triangles, 16 rows each.
    float s[kChunk / 8][4] = {};
    const int r = 16 * (warp % 4);
    if (warp < 4)
      tc::warp_mma<DK / 16, kChunk / 8, Stored::by_row, Stored::by_column>(s, qs + r * T::kLdk, T::kLdk, ks, T::kLdk);
    else
      tc::warp_mma<DV / 16, kChunk / 8, Stored::by_row, Stored::by_column>(s, dos + r * T::kLdv, T::kLdv, vs, T::kLdv);
    store_decayed_scores<kDecay>(s, r, 0, bs, scale, warp < 4 ? as : das);
  }
  tc::wait_async<1>();
  __syncthreads();  // both score tiles complete, S0 visible to every warp
  const float total = kDecay ? bs[kChunk - 1] : 0.0f;
  auto keep_to_end = [&](int j) { return kDecay ? __expf(total - bs[j]) : 1.0f; };  // what k_j v_j^T keeps in S1

  constexpr int kKeyCols = DK / 2, kValueCols = DV / 2;
  const int f0 = half * kKeyCols, v0 = half * kValueCols;
  {  // dq rows i, key columns [f0, f0 + DK / 2): S0^T is the state tile read by column.
    float acc[kKeyCols / 8][4] = {};
    tc::warp_mma<DV / 16, kKeyCols / 8, Stored::by_row, Stored::by_column>(acc, dos + row0 * T::kLdv, T::kLdv,
                                                                           hs + f0 * T::kLdv, T::kLdv);
    scale_rows(acc, row0, [&](int i) { return kDecay ? scale * __expf(bs[i]) : scale; });
    for (int kk = 0; kk <= row0 / 16; ++kk)  // dA is zero right of the diagonal block
      tc::warp_mma<1, kKeyCols / 8, Stored::by_row, Stored::by_row>(acc, das + row0 * kScoreStride + 16 * kk,
                                                                    kScoreStride, ks + 16 * kk * T::kLdk + f0, T::kLdk);
    if (qdq_minus_kdk) store_row_dots(acc, qs, T::kLdk, row0, f0, q_dots + half * kChunk);
    store_token_rows(acc, dq + qk_head, dqk_stride, t0, d.L, row0, f0);
  }
  tc::wait_async<0>();
  __syncthreads();  // R is visible to every warp
  {  // dk rows j: dA^T is the dA tile read by column.
    float acc[kKeyCols / 8][4] = {};
    tc::warp_mma<DV / 16, kKeyCols / 8, Stored::by_row, Stored::by_column>(acc, vs + row0 * T::kLdv, T::kLdv,
                                                                           rs + f0 * T::kLdv, T::kLdv);
    scale_rows(acc, row0, keep_to_end);
    for (int kk = row0 / 16; kk < kChunk / 16; ++kk)  // dA^T is zero left of the diagonal block
      tc::warp_mma<1, kKeyCols / 8, Stored::by_column, Stored::by_row>(acc, das + 16 * kk * kScoreStride + row0,
                                                                       kScoreStride, qs + 16 * kk * T::kLdk + f0,
                                                                       T::kLdk);
    if (qdq_minus_kdk) store_row_dots(acc, ks, T::kLdk, row0, f0, k_dots + half * kChunk);
    store_token_rows(acc, dk + qk_head, dqk_stride, t0, d.L, row0, f0);
  }
  {  // dv rows j, value columns [v0, v0 + DV / 2).
    float acc[kValueCols / 8][4] = {};
    tc::warp_mma<DK / 16, kValueCols / 8, Stored::by_row, Stored::by_row>(acc, ks + row0 * T::kLdk, T::kLdk, rs + v0,
                                                                          T::kLdv);
    scale_rows(acc, row0, keep_to_end);
    for (int kk = row0 / 16; kk < kChunk / 16; ++kk)
      tc::warp_mma<1, kValueCols / 8, Stored::by_column, Stored::by_row>(acc, as + 16 * kk * kScoreStride + row0,
                                                                         kScoreStride, dos + 16 * kk * T::kLdv + v0,
                                                                         T::kLdv);
    store_token_rows(acc, dv + v_head, v_stride, t0, d.L, row0, v0);
  }
  if (qdq_minus_kdk) {
    __syncthreads();  // every row's dot products are in
    if (threadIdx.x < kChunk) {
      const int t = threadIdx.x;
      qdq_minus_kdk[(static_cast<int64_t>(bh) * d.NC + c) * kChunk + t] =
          q_dots[t] + q_dots[kChunk + t] - k_dots[t] - k_dots[kChunk + t];
    }
  }
}

// dL/dg_t = sum_{s >= t} r_s over one head (r = q.dq - k.dk, [BH, NC * 64]); dL/dg_0 is exactly zero, as
// g_0 only decays the zero initial state. One block per head; thread i sums a contiguous run of tokens,
// and a suffix scan over the runs gives each its starting value.
constexpr int kDecayThreads = 256;

__global__ void __launch_bounds__(kDecayThreads)
    decay_grad_kernel(const float* __restrict__ r, float* __restrict__ dlog_decay, ChunkGrid d) {
  __shared__ float warp_totals[kDecayThreads / 32];
  const int bh = blockIdx.x, lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const float* r_h = r + static_cast<int64_t>(bh) * d.NC * kChunk;
  float* dg_h = dlog_decay + head_offset(bh, d, 1);
  const int per_thread = (d.L + kDecayThreads - 1) / kDecayThreads;
  const int begin = min(d.L, threadIdx.x * per_thread), end = min(d.L, begin + per_thread);
  float own = 0.0f;
  for (int t = begin; t < end; ++t) own += r_h[t];
  float suffix = own;  // sum over this lane and the lanes after it
#pragma unroll
  for (int off = 1; off < 32; off *= 2) {
    const float y = __shfl_down_sync(0xffffffffu, suffix, off);
    if (lane + off < 32) suffix += y;
  }
  if (lane == 0) warp_totals[warp] = suffix;
  __syncthreads();
  float running = suffix - own;  // everything after this thread's run
  for (int w = warp + 1; w < kDecayThreads / 32; ++w) running += warp_totals[w];
  for (int t = end - 1; t >= begin; --t) {
    running += r_h[t];
    dg_h[static_cast<int64_t>(t) * d.H] = t == 0 ? 0.0f : running;
  }
}

template <int DK, int DV>
void launch_grad(const bf16* q, const bf16* k, const bf16* v, const bf16* dout, const bf16* states,
                 const bf16* dstates, const float* b, bf16* dq, bf16* dk, bf16* dv, float* r, float scale,
                 const ChunkGrid& d, cudaStream_t stream) {
  auto kernel = b ? chunk_grad_kernel<DK, DV, true> : chunk_grad_kernel<DK, DV, false>;
  cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, GradTiles<DK, DV>::kBytes));
  kernel<<<d.BH * d.NC, kGradThreads, GradTiles<DK, DV>::kBytes, stream>>>(q, k, v, dout, states, dstates, b, dq, dk,
                                                                          dv, r, scale, d);
  cudaCheckLaunch();
}

}  // namespace
}  // namespace gla_tc

void gla_scalar_bwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                         const float* log_decay, const __nv_bfloat16* chunk_states, const __nv_bfloat16* dout,
                         __nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv, float* dlog_decay, float* workspace,
                         const GlaShape& s, const GlaOptions& o, int64_t qk_heads, cudaStream_t stream) {
  using namespace gla_tc;
  check_qk_heads(s, qk_heads, "gla_scalar_bwd_cuda");
  if (!log_decay && dlog_decay)
    throw std::invalid_argument("gla_scalar_bwd_cuda: a decay gradient needs a decay (log_decay is null)");
  const ChunkGrid d = chunk_grid(s, qk_heads);
  check_call(s, o, "gla_scalar_bwd_cuda", d, {q, k, v, chunk_states, dout, dq, dk, dv, workspace},
             gla_scalar_tc_unsupported);
  if (d.BH == 0 || d.L == 0) return;
  const int dk_dim = static_cast<int>(s.key_dim), dv_dim = static_cast<int>(s.value_dim);
  const int64_t padded_tokens = static_cast<int64_t>(d.BH) * d.NC * kChunk;
  float* b = log_decay ? workspace : nullptr;  // null: no decay
  float* r = dlog_decay ? workspace + padded_tokens : nullptr;
  bf16* dstates = reinterpret_cast<bf16*>(workspace + 2 * padded_tokens);
  if (log_decay) launch_chunk_cumulative_decay(log_decay, b, d, stream);
  launch_decayed_state_scan(q, dout, b, dstates, nullptr, o.scale, true, dk_dim, dv_dim, d, stream);
  auto grad = dk_dim == 64 ? (dv_dim == 64 ? launch_grad<64, 64> : launch_grad<64, 128>)
                           : (dv_dim == 64 ? launch_grad<128, 64> : launch_grad<128, 128>);
  grad(q, k, v, dout, chunk_states, dstates, b, dq, dk, dv, r, o.scale, d, stream);
  if (dlog_decay) {
    decay_grad_kernel<<<d.BH, kDecayThreads, 0, stream>>>(r, dlog_decay, d);
    cudaCheckLaunch();
  }
}

}  // namespace seqbench
