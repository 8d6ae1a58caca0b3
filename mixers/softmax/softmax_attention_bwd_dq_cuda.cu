// Causal attention dQ without atomics (FlashAttention-2, Dao 2023, Sec. 3.2's alternative to atomic
// dQ): each block owns 64 queries and walks the key tiles 0, 1, 2, ... in that order, rebuilding
// P = exp(S - lse) and dS = P (dP - D), so dq_i = scale * sum_j dS_ij k_j is summed in one fixed
// order and two runs agree bit for bit. Checked against softmax_attention_bwd_cpu in test_gpu_softmax.cpp.
//
// Why recompute rather than reduce partial sums: the alternative (each key block of the atomic pass
// writes its dQ share to a workspace [key blocks, B, L, H, D], then a fixed-order reduction) needs
// about L / 256 fp32 copies of dQ: 34 GB at L = 16k, B = 4, H = 16, D = 128. Recomputing S and dP
// costs two of the backward's five matrix products again but needs no memory beyond D = rowsum(dO O).
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>

#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kWarps = 4, kThreads = 32 * kWarps;
constexpr int kBlockQ = 16 * kWarps;  // each warp owns 16 query rows, as in the forward

// Key tile: 64 keys for head_dim 64; 32 for 128, which keeps dQ, S, dP and the Q and dO fragments
// (160 floats a thread) in registers.
template <int D>
struct DqLayout {
  static constexpr int BK = D <= 64 ? 64 : 32;
  static constexpr int S = D + 8;  // padded rows: the 8 rows an ldmatrix reads fall in distinct banks
  static constexpr size_t bytes = static_cast<size_t>(2 * kBlockQ + 4 * BK) * S * sizeof(bf16);
};

template <int D>
__global__ void __launch_bounds__(kThreads)
    attention_dq_tensor_core_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                                    const bf16* __restrict__ dout, const float* __restrict__ lse,
                                    const float* __restrict__ delta, bf16* __restrict__ dq, int L, int H, float scale,
                                    float scale_log2) {
  using Layout = DqLayout<D>;
  constexpr int BK = Layout::BK, S = Layout::S;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* q_s = reinterpret_cast<bf16*>(smem_raw);  // [kBlockQ][S]
  bf16* do_s = q_s + kBlockQ * S;                 // [kBlockQ][S]
  bf16* k_s = do_s + kBlockQ * S;                 // [2][BK][S]
  bf16* v_s = k_s + 2 * BK * S;                   // [2][BK][S]

  const int q_block = gridDim.y - 1 - blockIdx.y;  // longest query blocks (most key tiles) first
  const int bh = blockIdx.x, b = bh / H, h = bh % H;
  const int64_t row_stride = static_cast<int64_t>(H) * D;
  const int64_t base = static_cast<int64_t>(b) * L * row_stride + static_cast<int64_t>(h) * D;
  const int q0 = q_block * kBlockQ;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, t = lane & 3;

  // This thread's two query rows (g and g + 8 of its warp's 16). lse in log2 units; +inf past L
  // makes P = exp2(S - inf) = 0 there, so those rows add nothing and are not stored.
  float row_lse[2], row_delta[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = q0 + warp * 16 + g + 8 * r;
    const int64_t at = static_cast<int64_t>(bh) * L + row;
    row_lse[r] = row < L ? lse[at] * kLog2e : INFINITY;
    row_delta[r] = row < L ? delta[at] : 0.0f;
  }

  tc::load_tile_async<kBlockQ, D, S, kThreads>(q_s, q + base, row_stride, q0, L);
  tc::load_tile_async<kBlockQ, D, S, kThreads>(do_s, dout + base, row_stride, q0, L);
  tc::load_tile_async<BK, D, S, kThreads>(k_s, k + base, row_stride, 0, L);
  tc::load_tile_async<BK, D, S, kThreads>(v_s, v + base, row_stride, 0, L);
  tc::commit_async();

  // Causality: keys after the block's last query (or past L) are never seen.
  const int n_tiles = (min(L, q0 + kBlockQ) + BK - 1) / BK;
  uint32_t q_frag[D / 16][4], do_frag[D / 16][4];
  float dq_acc[D / 8][4] = {};
  for (int j = 0; j < n_tiles; ++j) {
    const int buf = j & 1, k0 = j * BK;
    if (j + 1 < n_tiles) {
      tc::load_tile_async<BK, D, S, kThreads>(k_s + (buf ^ 1) * BK * S, k + base, row_stride, k0 + BK, L);
      tc::load_tile_async<BK, D, S, kThreads>(v_s + (buf ^ 1) * BK * S, v + base, row_stride, k0 + BK, L);
      tc::commit_async();
      tc::wait_async<1>();
    } else {
      tc::wait_async<0>();
    }
    __syncthreads();
    if (j == 0) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        const int offset = (warp * 16 + (lane & 15)) * S + kk * 16 + (lane >> 4) * 8;
        tc::load_matrix_x4(q_frag[kk], q_s + offset);
        tc::load_matrix_x4(do_frag[kk], do_s + offset);
      }
    }
    const bf16* k_tile = k_s + buf * BK * S;
    const bf16* v_tile = v_s + buf * BK * S;

    // S = Q K^T and dP = dO V^T for this warp's 16 queries x BK keys.
    float s[BK / 8][4] = {}, dp[BK / 8][4] = {};
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int np = 0; np < BK / 16; ++np) {
        const int offset = (np * 16 + (lane & 7) + ((lane >> 4) << 3)) * S + kk * 16 + ((lane >> 3) & 1) * 8;
        uint32_t kb[4], vb[4];
        tc::load_matrix_x4(kb, k_tile + offset);
        tc::load_matrix_x4(vb, v_tile + offset);
        tc::mma_16x8x16(s[2 * np], q_frag[kk], kb[0], kb[1]);
        tc::mma_16x8x16(s[2 * np + 1], q_frag[kk], kb[2], kb[3]);
        tc::mma_16x8x16(dp[2 * np], do_frag[kk], vb[0], vb[1]);
        tc::mma_16x8x16(dp[2 * np + 1], do_frag[kk], vb[2], vb[3]);
      }
    }

    // P from the forward's lse; dS = P (dP - D), kept in dp. Keys after the query are masked, which
    // only tiles reaching the block's first query can hold.
    const bool needs_mask = k0 + BK > q0;
#pragma unroll
    for (int nb = 0; nb < BK / 8; ++nb)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e >> 1, row = q0 + warp * 16 + g + 8 * r, key = k0 + nb * 8 + 2 * t + (e & 1);
        float p = exp2f(s[nb][e] * scale_log2 - row_lse[r]);
        if (needs_mask && key > row) p = 0.0f;
        dp[nb][e] = p * (dp[nb][e] - row_delta[r]);
      }

    // dQ += dS K, dS straight from registers as the A operand (rounded to bf16 as in the atomic pass).
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk) {
      uint32_t dsa[4];
      tc::accumulators_to_a_fragment(dp[2 * kk], dp[2 * kk + 1], dsa);
#pragma unroll
      for (int dpair = 0; dpair < D / 16; ++dpair) {
        uint32_t kb[4];
        tc::load_matrix_x4_transposed(
            kb, k_tile + (kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3)) * S + dpair * 16 + (lane >> 4) * 8);
        tc::mma_16x8x16(dq_acc[2 * dpair], dsa, kb[0], kb[1]);
        tc::mma_16x8x16(dq_acc[2 * dpair + 1], dsa, kb[2], kb[3]);
      }
    }
    __syncthreads();  // the next iteration's prefetch overwrites the buffer read here
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = q0 + warp * 16 + g + 8 * r;
    if (row >= L) continue;
    bf16* dq_row = dq + base + row * row_stride + 2 * t;
#pragma unroll
    for (int db = 0; db < D / 8; ++db)
      *reinterpret_cast<__nv_bfloat162*>(dq_row + db * 8) =
          __floats2bfloat162_rn(dq_acc[db][2 * r] * scale, dq_acc[db][2 * r + 1] * scale);
  }
}

}  // namespace

template <int D>
void attention_dq_tensor_core(const bf16* q, const bf16* k, const bf16* v, const bf16* dout, const float* lse,
                              const float* delta, bf16* dq, const AttentionShape& s, cudaStream_t stream) {
  static const bool configured = [] {
    cudaCheck(cudaFuncSetAttribute(attention_dq_tensor_core_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   static_cast<int>(DqLayout<D>::bytes)));
    return true;
  }();
  (void)configured;
  const dim3 grid(static_cast<unsigned>(s.batch * s.heads), static_cast<unsigned>((s.seq_len + kBlockQ - 1) / kBlockQ));
  const float scale = attention_scale(s);
  attention_dq_tensor_core_kernel<D><<<grid, kThreads, DqLayout<D>::bytes, stream>>>(
      q, k, v, dout, lse, delta, dq, static_cast<int>(s.seq_len), static_cast<int>(s.heads), scale, scale * kLog2e);
  cudaCheckLaunch();
}

template void attention_dq_tensor_core<64>(const bf16*, const bf16*, const bf16*, const bf16*, const float*,
                                           const float*, bf16*, const AttentionShape&, cudaStream_t);
template void attention_dq_tensor_core<128>(const bf16*, const bf16*, const bf16*, const bf16*, const float*,
                                            const float*, bf16*, const AttentionShape&, cudaStream_t);

}  // namespace seqbench
