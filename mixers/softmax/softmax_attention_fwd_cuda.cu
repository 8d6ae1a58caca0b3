// Causal attention forward, FlashAttention-2 (Dao 2023, Alg. 1): 64-query blocks, 64-key tiles
// double-buffered with cp.async, S = QK^T and O += PV on bf16 tensor cores, online softmax in fp32
// registers. Checked against softmax_attention_fwd_cpu in test_gpu_softmax.cpp.
#include <cuda_bf16.h>

#include <cmath>

#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "mixers/softmax/softmax_attention_hopper.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/element_type.cuh"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kWarps = 4, kThreads = 32 * kWarps;
constexpr int kBlockQ = 16 * kWarps;  // each warp owns 16 query rows
constexpr int kBlockK = 64;           // equal to kBlockQ: only the last key tile needs the causal mask

template <int D>
__host__ __device__ constexpr int smem_stride() {
  return D + 8;  // 16 bytes of padding: the 8 rows an ldmatrix reads fall in distinct banks
}
template <int D>
constexpr size_t fwd_smem_bytes() {
  return static_cast<size_t>(kBlockQ + 4 * kBlockK) * smem_stride<D>() * sizeof(bf16);
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    attention_fwd_tensor_core_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                     const bf16* __restrict__ v, bf16* __restrict__ out, float* __restrict__ lse,
                                     int L, int H, float scale_log2) {
  constexpr int S = smem_stride<D>();
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* q_s = reinterpret_cast<bf16*>(smem_raw);
  bf16* k_s = q_s + kBlockQ * S;      // two buffers
  bf16* v_s = k_s + 2 * kBlockK * S;  // two buffers

  // Longest query blocks (most key tiles) are scheduled first.
  const int q_block = gridDim.y - 1 - blockIdx.y;
  const int bh = blockIdx.x, b = bh / H, h = bh % H;
  const int64_t row_stride = static_cast<int64_t>(H) * D;
  const int64_t base = static_cast<int64_t>(b) * L * row_stride + static_cast<int64_t>(h) * D;
  const int q0 = q_block * kBlockQ;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, t = lane & 3;

  tc::load_tile_async<kBlockQ, D, S, kThreads>(q_s, q + base, row_stride, q0, L);
  tc::load_tile_async<kBlockK, D, S, kThreads>(k_s, k + base, row_stride, 0, L);
  tc::load_tile_async<kBlockK, D, S, kThreads>(v_s, v + base, row_stride, 0, L);
  tc::commit_async();

  uint32_t q_frag[D / 16][4];
  float o[D / 8][4] = {};
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.0f, 0.0f};
  const int n_tiles = q_block + 1;
  for (int j = 0; j < n_tiles; ++j) {
    const int buf = j & 1;
    if (j + 1 < n_tiles) {
      const int next = (j + 1) * kBlockK;
      tc::load_tile_async<kBlockK, D, S, kThreads>(k_s + (buf ^ 1) * kBlockK * S, k + base, row_stride, next, L);
      tc::load_tile_async<kBlockK, D, S, kThreads>(v_s + (buf ^ 1) * kBlockK * S, v + base, row_stride, next, L);
      tc::commit_async();
      tc::wait_async<1>();
    } else {
      tc::wait_async<0>();
    }
    __syncthreads();
    if (j == 0) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk)
        tc::load_matrix_x4(q_frag[kk], q_s + (warp * 16 + (lane & 15)) * S + kk * 16 + (lane >> 4) * 8);
    }
    const bf16* k_tile = k_s + buf * kBlockK * S;
    const bf16* v_tile = v_s + buf * kBlockK * S;

    float s[kBlockK / 8][4] = {};
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int np = 0; np < kBlockK / 16; ++np) {
        uint32_t kb[4];
        tc::load_matrix_x4(kb,
                           k_tile + (np * 16 + (lane & 7) + ((lane >> 4) << 3)) * S + kk * 16 + ((lane >> 3) & 1) * 8);
        tc::mma_16x8x16(s[2 * np], q_frag[kk], kb[0], kb[1]);
        tc::mma_16x8x16(s[2 * np + 1], q_frag[kk], kb[2], kb[3]);
      }
    }

    // Scores in log2 units; keys after the query are masked (only in the diagonal tile).
    const int row0 = q0 + warp * 16 + g;
    const bool diagonal = j == q_block;
#pragma unroll
    for (int nb = 0; nb < kBlockK / 8; ++nb)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int row = row0 + (e >= 2 ? 8 : 0), col = j * kBlockK + nb * 8 + 2 * t + (e & 1);
        s[nb][e] = diagonal && col > row ? -INFINITY : s[nb][e] * scale_log2;
      }

    // Online softmax: each row's 64 scores are spread over the 4 lanes of a quad.
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float tile_max = row_max[r];
#pragma unroll
      for (int nb = 0; nb < kBlockK / 8; ++nb) tile_max = fmaxf(tile_max, fmaxf(s[nb][2 * r], s[nb][2 * r + 1]));
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
      // Every row sees key q0 <= row in its first tile, so tile_max is finite from then on.
      const float correction = exp2f(row_max[r] - tile_max);
      row_max[r] = tile_max;
      row_sum[r] *= correction;
#pragma unroll
      for (int db = 0; db < D / 8; ++db) {
        o[db][2 * r] *= correction;
        o[db][2 * r + 1] *= correction;
      }
#pragma unroll
      for (int nb = 0; nb < kBlockK / 8; ++nb) {
        s[nb][2 * r] = exp2f(s[nb][2 * r] - tile_max);
        s[nb][2 * r + 1] = exp2f(s[nb][2 * r + 1] - tile_max);
        row_sum[r] += s[nb][2 * r] + s[nb][2 * r + 1];
      }
    }

#pragma unroll
    for (int kk = 0; kk < kBlockK / 16; ++kk) {
      uint32_t p[4];
      tc::accumulators_to_a_fragment(s[2 * kk], s[2 * kk + 1], p);
#pragma unroll
      for (int dp = 0; dp < D / 16; ++dp) {
        uint32_t vb[4];
        tc::load_matrix_x4_transposed(
            vb, v_tile + (kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3)) * S + dp * 16 + (lane >> 4) * 8);
        tc::mma_16x8x16(o[2 * dp], p, vb[0], vb[1]);
        tc::mma_16x8x16(o[2 * dp + 1], p, vb[2], vb[3]);
      }
    }
    __syncthreads();  // the next iteration's prefetch overwrites the buffer read here
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float sum = row_sum[r];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const int row = q0 + warp * 16 + g + 8 * r;
    if (row >= L) continue;
    const float inv = 1.0f / sum;
    bf16* out_row = out + base + row * row_stride;
#pragma unroll
    for (int db = 0; db < D / 8; ++db)
      *reinterpret_cast<__nv_bfloat162*>(out_row + db * 8 + 2 * t) =
          __floats2bfloat162_rn(o[db][2 * r] * inv, o[db][2 * r + 1] * inv);
    if (t == 0) lse[static_cast<int64_t>(bh) * L + row] = (row_max[r] + log2f(sum)) / kLog2e;
  }
}

template <int D>
void launch_fwd_tensor_core(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* lse,
                            const AttentionShape& s, cudaStream_t stream) {
  static const bool configured = [] {
    cudaCheck(cudaFuncSetAttribute(attention_fwd_tensor_core_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   static_cast<int>(fwd_smem_bytes<D>())));
    return true;
  }();
  (void)configured;
  const dim3 grid(static_cast<unsigned>(s.batch * s.heads), static_cast<unsigned>((s.seq_len + kBlockQ - 1) / kBlockQ));
  attention_fwd_tensor_core_kernel<D><<<grid, kThreads, fwd_smem_bytes<D>(), stream>>>(
      q, k, v, out, lse, static_cast<int>(s.seq_len), static_cast<int>(s.heads), attention_scale(s) * kLog2e);
  cudaCheckLaunch();
}

}  // namespace

template <class T>
void softmax_attention_fwd_cuda(const T* q, const T* k, const T* v, T* out, float* lse, const AttentionShape& s,
                                cudaStream_t stream) {
  check_attention_shape(s, "softmax_attention_fwd_cuda");
  if (attention_is_empty(s)) return;
  if constexpr (is_bf16<T>) {
    // SEQBENCH_ATTENTION_FWD (hopper_pingpong by default on sm_90): the sm_90a kernel
    // (softmax_attention_hopper.cuh) where it applies.
    const AttentionFwdVariant variant = attention_fwd_variant();
    if (variant != AttentionFwdVariant::portable && softmax_attention_hopper_supports(s, q, k, v, out))
      return softmax_attention_fwd_hopper(q, k, v, out, lse, s, hopper_attention_options(variant, true), stream);
  }
  softmax_attention_fwd_portable_cuda(q, k, v, out, lse, s, stream);
}

template <class T>
void softmax_attention_fwd_portable_cuda(const T* q, const T* k, const T* v, T* out, float* lse,
                                         const AttentionShape& s, cudaStream_t stream) {
  check_attention_shape(s, "softmax_attention_fwd_portable_cuda");
  if (attention_is_empty(s)) return;
  if constexpr (is_bf16<T>) {
    const bool aligned = aligned_16(q) && aligned_16(k) && aligned_16(v) && aligned_16(out);
    if (aligned && s.head_dim == 64) return launch_fwd_tensor_core<64>(q, k, v, out, lse, s, stream);
    if (aligned && s.head_dim == 128) return launch_fwd_tensor_core<128>(q, k, v, out, lse, s, stream);
  }
  attention_fwd_simt(q, k, v, out, lse, s, stream);
}

template void softmax_attention_fwd_cuda<float>(const float*, const float*, const float*, float*, float*,
                                                const AttentionShape&, cudaStream_t);
template void softmax_attention_fwd_cuda<bf16>(const bf16*, const bf16*, const bf16*, bf16*, float*,
                                               const AttentionShape&, cudaStream_t);
template void softmax_attention_fwd_portable_cuda<float>(const float*, const float*, const float*, float*, float*,
                                                         const AttentionShape&, cudaStream_t);
template void softmax_attention_fwd_portable_cuda<bf16>(const bf16*, const bf16*, const bf16*, bf16*, float*,
                                                        const AttentionShape&, cudaStream_t);

}  // namespace seqbench
