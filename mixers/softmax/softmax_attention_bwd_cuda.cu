// Causal attention backward, FlashAttention-2 (Dao 2023, Alg. 2): per 128-key block, dK and dV in
// registers while query tiles stream past; dS = P (dP - D), D = rowsum(dO * O); dQ by fp32 atomics,
// or (deterministic mode) by a second pass over query blocks. bf16 tensor cores for head_dim 64/128.
// Checked against softmax_attention_bwd_cpu in test_gpu_softmax.cpp.
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/element_type.cuh"
#include "ops/cuda/scratch_buffer.cuh"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;
// Each warp owns 16 keys; eight warps (128 keys per block) halve the dQ atomics and the Q/dO tile
// traffic per key compared with four.
constexpr int kWarps = 8, kThreads = 32 * kWarps;
constexpr int kBlockK = 16 * kWarps;

// Query tile: 64 rows for head_dim 64; 32 for 128, which keeps dK, dV, S and dP in registers.
template <int D>
constexpr int query_tile() {
  return D <= 64 ? 64 : 32;
}

// kAtomicDq false: the deterministic mode's first pass, dK and dV only (no dS^T tile).
template <int D, bool kAtomicDq>
struct BwdLayout {
  static constexpr int BQ = query_tile<D>();
  static constexpr int S = D + 8;        // padded row of q/k/v/dO tiles (conflict-free ldmatrix)
  static constexpr int SQ = BQ + 8;      // padded row of the dS^T tile
  static constexpr size_t floats = 4 * BQ;  // lse and D, double-buffered
  static constexpr size_t bf16s = 2 * kBlockK * S + 4 * BQ * S + (kAtomicDq ? kBlockK * SQ : 0);
  static constexpr size_t bytes = floats * sizeof(float) + bf16s * sizeof(bf16);
};

template <int D, bool kAtomicDq>
__global__ void __launch_bounds__(kThreads)
    attention_bwd_tensor_core_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                     const bf16* __restrict__ v, const bf16* __restrict__ dout,
                                     const float* __restrict__ lse, const float* __restrict__ delta,
                                     float* __restrict__ dq_accum, bf16* __restrict__ dk, bf16* __restrict__ dv, int L,
                                     int H, float scale, float scale_log2) {
  using Layout = BwdLayout<D, kAtomicDq>;
  constexpr int BQ = Layout::BQ, S = Layout::S, SQ = Layout::SQ;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  float* lse_s = reinterpret_cast<float*>(smem_raw);  // [2][BQ], log2 units
  float* delta_s = lse_s + 2 * BQ;                    // [2][BQ]
  bf16* k_s = reinterpret_cast<bf16*>(delta_s + 2 * BQ);
  bf16* v_s = k_s + kBlockK * S;
  bf16* q_s = v_s + kBlockK * S;   // [2][BQ][S]
  bf16* do_s = q_s + 2 * BQ * S;   // [2][BQ][S]
  bf16* ds_s = do_s + 2 * BQ * S;  // dS^T [kBlockK][SQ], atomic mode only

  const int bh = blockIdx.x, b = bh / H, h = bh % H;
  const int k0 = blockIdx.y * kBlockK;  // low key blocks see the most queries and start first
  const int64_t row_stride = static_cast<int64_t>(H) * D;
  const int64_t base = static_cast<int64_t>(b) * L * row_stride + static_cast<int64_t>(h) * D;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, t = lane & 3;
  const float* lse_bh = lse + static_cast<int64_t>(bh) * L;
  const float* delta_bh = delta + static_cast<int64_t>(bh) * L;

  // Causality: queries before k0 never see these keys.
  const int n_tiles = (L - k0 + BQ - 1) / BQ;
  auto load_query_tile = [&](int tile, int buf) {
    const int qt0 = k0 + tile * BQ;
    tc::load_tile_async<BQ, D, S, kThreads>(q_s + buf * BQ * S, q + base, row_stride, qt0, L);
    tc::load_tile_async<BQ, D, S, kThreads>(do_s + buf * BQ * S, dout + base, row_stride, qt0, L);
    for (int r = threadIdx.x; r < BQ; r += kThreads) {
      const int row = qt0 + r;  // rows past L get P = exp2(s - inf) = 0
      lse_s[buf * BQ + r] = row < L ? lse_bh[row] * kLog2e : INFINITY;
      delta_s[buf * BQ + r] = row < L ? delta_bh[row] : 0.0f;
    }
  };
  tc::load_tile_async<kBlockK, D, S, kThreads>(k_s, k + base, row_stride, k0, L);
  tc::load_tile_async<kBlockK, D, S, kThreads>(v_s, v + base, row_stride, k0, L);
  load_query_tile(0, 0);
  tc::commit_async();

  float dk_acc[D / 8][4] = {}, dv_acc[D / 8][4] = {};
  const int key_row = warp * 16 + (lane & 15), key_col = (lane >> 4) * 8;  // A-fragment addressing
  for (int tile = 0; tile < n_tiles; ++tile) {
    const int buf = tile & 1, qt0 = k0 + tile * BQ;
    if (tile + 1 < n_tiles) {
      load_query_tile(tile + 1, buf ^ 1);
      tc::commit_async();
      tc::wait_async<1>();
    } else {
      tc::wait_async<0>();
    }
    __syncthreads();
    const bf16* qt = q_s + buf * BQ * S;
    const bf16* dot = do_s + buf * BQ * S;

    // S^T = K Q^T and dP^T = V dO^T for this warp's 16 keys x BQ queries.
    float s[BQ / 8][4] = {}, dp[BQ / 8][4] = {};
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t ka[4], va[4];
      tc::load_matrix_x4(ka, k_s + key_row * S + kk * 16 + key_col);
      tc::load_matrix_x4(va, v_s + key_row * S + kk * 16 + key_col);
#pragma unroll
      for (int np = 0; np < BQ / 16; ++np) {
        const int offset = (np * 16 + (lane & 7) + ((lane >> 4) << 3)) * S + kk * 16 + ((lane >> 3) & 1) * 8;
        uint32_t qb[4], dob[4];
        tc::load_matrix_x4(qb, qt + offset);
        tc::load_matrix_x4(dob, dot + offset);
        tc::mma_16x8x16(s[2 * np], ka, qb[0], qb[1]);
        tc::mma_16x8x16(s[2 * np + 1], ka, qb[2], qb[3]);
        tc::mma_16x8x16(dp[2 * np], va, dob[0], dob[1]);
        tc::mma_16x8x16(dp[2 * np + 1], va, dob[2], dob[3]);
      }
    }

    // P^T from the forward's lse (no second softmax); dS^T = P^T (dP^T - D), kept in dp.
    const bool needs_mask = qt0 < k0 + kBlockK;
#pragma unroll
    for (int nb = 0; nb < BQ / 8; ++nb)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int qi = nb * 8 + 2 * t + (e & 1);
        const int key = k0 + warp * 16 + g + (e >= 2 ? 8 : 0);
        float p = exp2f(s[nb][e] * scale_log2 - lse_s[buf * BQ + qi]);
        if (needs_mask && qt0 + qi < key) p = 0.0f;
        s[nb][e] = p;
        dp[nb][e] = p * (dp[nb][e] - delta_s[buf * BQ + qi]);
      }

    // dV += P^T dO and dK += dS^T Q, the A operands straight from registers.
#pragma unroll
    for (int kk = 0; kk < BQ / 16; ++kk) {
      uint32_t pa[4], dsa[4];
      tc::accumulators_to_a_fragment(s[2 * kk], s[2 * kk + 1], pa);
      tc::accumulators_to_a_fragment(dp[2 * kk], dp[2 * kk + 1], dsa);
#pragma unroll
      for (int dpair = 0; dpair < D / 16; ++dpair) {
        const int offset = (kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3)) * S + dpair * 16 + (lane >> 4) * 8;
        uint32_t dob[4], qb[4];
        tc::load_matrix_x4_transposed(dob, dot + offset);
        tc::load_matrix_x4_transposed(qb, qt + offset);
        tc::mma_16x8x16(dv_acc[2 * dpair], pa, dob[0], dob[1]);
        tc::mma_16x8x16(dv_acc[2 * dpair + 1], pa, dob[2], dob[3]);
        tc::mma_16x8x16(dk_acc[2 * dpair], dsa, qb[0], qb[1]);
        tc::mma_16x8x16(dk_acc[2 * dpair + 1], dsa, qb[2], qb[3]);
      }
    }

    if constexpr (kAtomicDq) {
      // dQ needs dS across all warps' keys: through shared memory.
#pragma unroll
      for (int nb = 0; nb < BQ / 8; ++nb) {
        bf16* row = ds_s + (warp * 16 + g) * SQ + nb * 8 + 2 * t;
        *reinterpret_cast<uint32_t*>(row) = tc::pack_bf16x2(dp[nb][0], dp[nb][1]);
        *reinterpret_cast<uint32_t*>(row + 8 * SQ) = tc::pack_bf16x2(dp[nb][2], dp[nb][3]);
      }
      __syncthreads();

      // dQ[BQ x D] += dS[BQ x kBlockK] K[kBlockK x D]: warps split the tile into row groups x column slices.
      constexpr int kRowGroups = BQ / 16, kColSlices = kWarps / kRowGroups, DW = D / kColSlices;
      const int rg = warp % kRowGroups, cs = warp / kRowGroups;
      float dq_acc[DW / 8][4] = {};
#pragma unroll
      for (int kk = 0; kk < kBlockK / 16; ++kk) {
        uint32_t dsa[4];
        tc::load_matrix_x4_transposed(dsa, ds_s + (kk * 16 + (lane & 7) + ((lane >> 4) << 3)) * SQ + rg * 16 +
                                               (((lane >> 3) & 1) << 3));
#pragma unroll
        for (int dpair = 0; dpair < DW / 16; ++dpair) {
          uint32_t kb[4];
          tc::load_matrix_x4_transposed(
              kb, k_s + (kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3)) * S + cs * DW + dpair * 16 + (lane >> 4) * 8);
          tc::mma_16x8x16(dq_acc[2 * dpair], dsa, kb[0], kb[1]);
          tc::mma_16x8x16(dq_acc[2 * dpair + 1], dsa, kb[2], kb[3]);
        }
      }
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int row = qt0 + rg * 16 + g + 8 * r;
        if (row >= L) continue;
        float* dst = dq_accum + base + row * row_stride + cs * DW + 2 * t;
#pragma unroll
        for (int nb = 0; nb < DW / 8; ++nb) {
          atomicAdd(dst + nb * 8, dq_acc[nb][2 * r]);
          atomicAdd(dst + nb * 8 + 1, dq_acc[nb][2 * r + 1]);
        }
      }
    }
    __syncthreads();  // buffers and dS^T are rewritten by the next tile
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int key = k0 + warp * 16 + g + 8 * r;
    if (key >= L) continue;
    const int64_t offset = base + key * row_stride + 2 * t;
#pragma unroll
    for (int nb = 0; nb < D / 8; ++nb) {
      *reinterpret_cast<__nv_bfloat162*>(dk + offset + nb * 8) =
          __floats2bfloat162_rn(dk_acc[nb][2 * r] * scale, dk_acc[nb][2 * r + 1] * scale);
      *reinterpret_cast<__nv_bfloat162*>(dv + offset + nb * 8) =
          __floats2bfloat162_rn(dv_acc[nb][2 * r], dv_acc[nb][2 * r + 1]);
    }
  }
}

template <class T>
__global__ void scale_and_store_kernel(const float* src, T* dst, float scale, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = from_float<T>(src[i] * scale);
}

// Atomic mode (dq_accum non-null): one pass, dQ summed into dq_accum by atomics, then scaled into dq.
// Deterministic mode (dq_accum null): the pass without dQ, then attention_dq_tensor_core.
template <int D>
void launch_bwd_tensor_core(const bf16* q, const bf16* k, const bf16* v, const bf16* dout, const float* lse,
                            const float* delta, float* dq_accum, bf16* dq, bf16* dk, bf16* dv, const AttentionShape& s,
                            cudaStream_t stream) {
  static const bool configured = [] {
    cudaCheck(cudaFuncSetAttribute(attention_bwd_tensor_core_kernel<D, true>,
                                   cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   static_cast<int>(BwdLayout<D, true>::bytes)));
    cudaCheck(cudaFuncSetAttribute(attention_bwd_tensor_core_kernel<D, false>,
                                   cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   static_cast<int>(BwdLayout<D, false>::bytes)));
    return true;
  }();
  (void)configured;
  const dim3 grid(static_cast<unsigned>(s.batch * s.heads), static_cast<unsigned>((s.seq_len + kBlockK - 1) / kBlockK));
  const float scale = attention_scale(s);
  const int L = static_cast<int>(s.seq_len), H = static_cast<int>(s.heads);
  if (!dq_accum) {
    attention_bwd_tensor_core_kernel<D, false><<<grid, kThreads, BwdLayout<D, false>::bytes, stream>>>(
        q, k, v, dout, lse, delta, nullptr, dk, dv, L, H, scale, scale * kLog2e);
    cudaCheckLaunch();
    attention_dq_tensor_core<D>(q, k, v, dout, lse, delta, dq, s, stream);
    return;
  }
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
  cudaCheck(cudaMemsetAsync(dq_accum, 0, n * sizeof(float), stream));
  attention_bwd_tensor_core_kernel<D, true><<<grid, kThreads, BwdLayout<D, true>::bytes, stream>>>(
      q, k, v, dout, lse, delta, dq_accum, dk, dv, L, H, scale, scale * kLog2e);
  cudaCheckLaunch();
  scale_and_store_kernel<bf16><<<static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 65536)), 256, 0, stream>>>(
      dq_accum, dq, scale, n);
  cudaCheckLaunch();
}

}  // namespace

AttentionBwdMode attention_bwd_mode() {
  static const AttentionBwdMode chosen = [] {
    const char* env = std::getenv("SEQBENCH_ATTENTION_BWD");
    const std::string name = env ? env : "";
    if (name.empty() || name == "atomic") return AttentionBwdMode::atomic;
    if (name == "deterministic") return AttentionBwdMode::deterministic;
    throw std::invalid_argument("SEQBENCH_ATTENTION_BWD='" + name + "'; expected atomic or deterministic");
  }();
  return chosen;
}

const char* attention_bwd_mode_name(AttentionBwdMode mode) {
  return mode == AttentionBwdMode::atomic ? "atomic" : "deterministic";
}

// D [B, H, L] first, then the atomic mode's dq accumulator, so the deterministic mode needs only the
// prefix; then the Hopper backward's turn counts (its deterministic mode uses the accumulator too).
int64_t softmax_attention_bwd_workspace_floats(const AttentionShape& s) {
  return attention_bwd_dq_order_offset(s) + attention_bwd_dq_order_words(s);
}

template <class T>
void softmax_attention_bwd_cuda(const T* q, const T* k, const T* v, const T* out, const float* lse, const T* dout,
                                T* dq, T* dk, T* dv, const AttentionShape& s, float* workspace, AttentionBwdMode mode,
                                cudaStream_t stream) {
  check_attention_shape(s, "softmax_attention_bwd_cuda");
  if (attention_is_empty(s)) return;
  if constexpr (is_bf16<T>) {
    // SEQBENCH_ATTENTION_BWD_KERNEL (hopper* by default on sm_90): the sm_90a kernel where it takes the
    // shape and pointers.
    const AttentionBwdKernel kernel = attention_bwd_kernel();
    if (kernel != AttentionBwdKernel::portable &&
        softmax_attention_hopper_bwd_supports(s, q, k, v, out, dout, dq, dk, dv)) {
      HopperAttentionBwdOptions options;
      options.deterministic = mode == AttentionBwdMode::deterministic;
      options.bulk_dq = kernel == AttentionBwdKernel::hopper_bulk_dq ||
                        kernel == AttentionBwdKernel::hopper_serial_bulk_dq ||
                        kernel == AttentionBwdKernel::hopper_fa3_bulk_dq ||
                        kernel == AttentionBwdKernel::hopper_fa3_tiled_dq;
      options.overlap =
          kernel != AttentionBwdKernel::hopper_serial && kernel != AttentionBwdKernel::hopper_serial_bulk_dq;
      // hopper_heavy_first: hopper_first_overlap's kernel in FlashAttention-3's causal grid order;
      // hopper_heavy_first_fused: and its preprocess in one pass; hopper_fa3_tile: both around
      // FlashAttention-3's tile with float4 dQ; hopper_fa3_bulk_dq: with the writer warp's bulk dQ;
      // hopper_fa3_two_stage: with a two-slot ring; hopper_fa3_tiled_dq: bulk dQ into FlashAttention-3's
      // tile-ordered accumulator.
      const bool fa3_tile = kernel == AttentionBwdKernel::hopper_fa3_tile ||
                            kernel == AttentionBwdKernel::hopper_fa3_bulk_dq ||
                            kernel == AttentionBwdKernel::hopper_fa3_two_stage ||
                            kernel == AttentionBwdKernel::hopper_fa3_tiled_dq;
      options.tiled_dq = kernel == AttentionBwdKernel::hopper_fa3_tiled_dq;
      options.two_slot_ring = kernel == AttentionBwdKernel::hopper_fa3_two_stage;
      const bool heavy_first = kernel == AttentionBwdKernel::hopper_heavy_first ||
                               kernel == AttentionBwdKernel::hopper_heavy_first_fused;
      const bool first_overlap = kernel == AttentionBwdKernel::hopper_first_overlap || heavy_first;
      options.float4_dq = kernel != AttentionBwdKernel::hopper_float2_dq && !first_overlap;
      options.drain_each_tile = kernel != AttentionBwdKernel::hopper_undrained && !first_overlap;
      options.l2_sections = heavy_first || fa3_tile;
      options.fused_preprocess = kernel == AttentionBwdKernel::hopper_heavy_first_fused || fa3_tile;
      options.fa3_tile = fa3_tile;
      options.fold_delta = kernel != AttentionBwdKernel::hopper_unfolded_delta;
      options.dk_before_dq = kernel != AttentionBwdKernel::hopper_dq_before_dk;
      return softmax_attention_bwd_hopper(q, k, v, out, lse, dout, dq, dk, dv, s, workspace, options, stream);
    }
  }
  softmax_attention_bwd_portable_cuda(q, k, v, out, lse, dout, dq, dk, dv, s, workspace, mode, stream);
}

template <class T>
void softmax_attention_bwd_portable_cuda(const T* q, const T* k, const T* v, const T* out, const float* lse,
                                         const T* dout, T* dq, T* dk, T* dv, const AttentionShape& s, float* workspace,
                                         AttentionBwdMode mode, cudaStream_t stream) {
  check_attention_shape(s, "softmax_attention_bwd_portable_cuda");
  if (attention_is_empty(s)) return;
  const bool deterministic = mode == AttentionBwdMode::deterministic;
  const int64_t delta_floats = s.batch * s.heads * s.seq_len;
  const ScratchFloats scratch(workspace, deterministic ? delta_floats : softmax_attention_bwd_workspace_floats(s),
                              stream);
  float* delta = scratch.data();
  float* dq_accum = deterministic ? nullptr : delta + attention_bwd_dq_accum_offset(s);
  attention_delta(out, dout, delta, s, stream);
  if constexpr (is_bf16<T>) {
    // The deterministic dQ pass stores bf16 pairs straight into dq; the atomic one goes through dq_accum.
    const bool aligned = aligned_16(q) && aligned_16(k) && aligned_16(v) && aligned_16(dout) && aligned_16(dk) &&
                         aligned_16(dv) && (!deterministic || aligned_16(dq));
    if (aligned && s.head_dim == 64)
      return launch_bwd_tensor_core<64>(q, k, v, dout, lse, delta, dq_accum, dq, dk, dv, s, stream);
    if (aligned && s.head_dim == 128)
      return launch_bwd_tensor_core<128>(q, k, v, dout, lse, delta, dq_accum, dq, dk, dv, s, stream);
  }
  attention_bwd_simt(q, k, v, lse, delta, dout, dq, dk, dv, s, stream);  // no atomics: deterministic in both modes
}

template void softmax_attention_bwd_cuda<float>(const float*, const float*, const float*, const float*, const float*,
                                                const float*, float*, float*, float*, const AttentionShape&, float*,
                                                AttentionBwdMode, cudaStream_t);
template void softmax_attention_bwd_cuda<bf16>(const bf16*, const bf16*, const bf16*, const bf16*, const float*,
                                               const bf16*, bf16*, bf16*, bf16*, const AttentionShape&, float*,
                                               AttentionBwdMode, cudaStream_t);
template void softmax_attention_bwd_portable_cuda<float>(const float*, const float*, const float*, const float*,
                                                         const float*, const float*, float*, float*, float*,
                                                         const AttentionShape&, float*, AttentionBwdMode, cudaStream_t);
template void softmax_attention_bwd_portable_cuda<bf16>(const bf16*, const bf16*, const bf16*, const bf16*,
                                                        const float*, const bf16*, bf16*, bf16*, bf16*,
                                                        const AttentionShape&, float*, AttentionBwdMode, cudaStream_t);

}  // namespace seqbench
