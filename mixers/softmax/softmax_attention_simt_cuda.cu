// Causal attention on CUDA cores for any head_dim <= 256 and fp32: forward with the online softmax
// one warp per query row, backward as a dq pass (per query) and a dk/dv pass (per key), both from
// lse and D = rowsum(dO * O). Checked against softmax_attention_{fwd,bwd}_cpu in test_gpu_softmax.cpp.
#include <cuda_bf16.h>

#include <cmath>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/element_type.cuh"
#include "ops/cuda/warp_reduce.cuh"
#include "mixers/softmax/softmax_attention_cuda_internal.cuh"

namespace seqbench {
namespace {

constexpr int kWarps = 8, kThreads = 32 * kWarps;  // one row (query or key) per warp
constexpr int kTile = 32;                          // keys (or queries) per shared-memory tile: one per lane
constexpr int kPerLane = kAttentionMaxHeadDim / 32;

// Rows [row0, row0 + rows) of one head into shared memory as fp32, rows `stride` floats apart;
// rows at or past L are zero.
template <class T>
__device__ void load_rows(float* dst, int stride, const T* src, int64_t row_stride, int row0, int rows, int L, int D,
                          float scale = 1.0f) {
  for (int i = threadIdx.x; i < rows * D; i += blockDim.x) {
    const int r = i / D, d = i % D;
    dst[r * stride + d] = row0 + r < L ? to_float(src[(row0 + r) * row_stride + d]) * scale : 0.0f;
  }
}

// acc[e] += sum_jj w_jj * tile[jj, lane + 32 e] over the kTile rows of a shared-memory tile (rows
// `stride` floats apart), where lane jj holds the weight w_jj of row jj.
__device__ __forceinline__ void add_weighted_tile_rows(float (&acc)[kPerLane], float weight, const float* tile,
                                                       int stride, int D, int lane) {
  for (int jj = 0; jj < kTile; ++jj) {
    const float wj = __shfl_sync(0xffffffffu, weight, jj);
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) {
      const int d = lane + 32 * e;
      if (d < D) acc[e] += wj * tile[jj * stride + d];
    }
  }
}

struct HeadView {
  int64_t base, row_stride;
};
__device__ __forceinline__ HeadView head_view(int bh, int L, int H, int D) {
  const int64_t row_stride = static_cast<int64_t>(H) * D;
  return {static_cast<int64_t>(bh / H) * L * row_stride + static_cast<int64_t>(bh % H) * D, row_stride};
}

// The causal key tiles of a block's kWarps query rows from row0: each tile's kTile k and v rows
// loaded into shared memory (rows `stride` floats apart, zero past L), then visit(j0) in the warps
// whose query row i is below L. Every warp reaches both barriers of every tile.
template <class T, class Visit>
__device__ __forceinline__ void for_each_causal_key_tile(const T* k, const T* v, const HeadView& x, float* k_s,
                                                         float* v_s, int stride, int row0, int i, int L, int D,
                                                         Visit visit) {
  const int last_key = min(L - 1, row0 + kWarps - 1);
  for (int j0 = 0; j0 <= last_key; j0 += kTile) {
    __syncthreads();
    load_rows(k_s, stride, k + x.base, x.row_stride, j0, kTile, L, D);
    load_rows(v_s, stride, v + x.base, x.row_stride, j0, kTile, L, D);
    __syncthreads();
    if (i < L) visit(j0);
  }
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    attention_fwd_simt_kernel(const T* q, const T* k, const T* v, T* out, float* lse, int L, int H, int D, float scale) {
  extern __shared__ float smem[];
  const int P = D + 1;  // odd stride: lane j reading row j hits distinct banks
  float* k_s = smem;
  float* v_s = k_s + kTile * P;
  float* q_s = v_s + kTile * P;
  const int bh = blockIdx.x, row0 = blockIdx.y * kWarps, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const HeadView x = head_view(bh, L, H, D);
  const int i = row0 + warp;
  load_rows(q_s, D, q + x.base, x.row_stride, row0, kWarps, L, D, scale);

  float o[kPerLane] = {};
  float m = -INFINITY, l = 0.0f;
  for_each_causal_key_tile(k, v, x, k_s, v_s, P, row0, i, L, D, [&](int j0) {
    const int j = j0 + lane;
    float s = -INFINITY;
    if (j <= i) {
      s = 0.0f;
      for (int d = 0; d < D; ++d) s += q_s[warp * D + d] * k_s[lane * P + d];
    }
    const float m_new = fmaxf(m, warp_max(s));  // finite: key 0 is in the first tile
    const float correction = expf(m - m_new);
    const float p = j <= i ? expf(s - m_new) : 0.0f;
    l = l * correction + warp_sum(p);
    m = m_new;
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) o[e] *= correction;
    add_weighted_tile_rows(o, p, v_s, P, D, lane);
  });
  if (i >= L) return;
#pragma unroll
  for (int e = 0; e < kPerLane; ++e) {
    const int d = lane + 32 * e;
    if (d < D) out[x.base + i * x.row_stride + d] = from_float<T>(o[e] / l);
  }
  if (lane == 0) lse[static_cast<int64_t>(bh) * L + i] = m + logf(l);
}

template <class T>
__global__ void attention_delta_kernel(const T* out, const T* dout, float* delta, int L, int H, int D, int64_t rows) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;  // rows are (b, t, h) in memory order
  const int lane = threadIdx.x % 32;
  float sum = 0.0f;
  for (int d = lane; d < D; d += 32) sum += to_float(out[row * D + d]) * to_float(dout[row * D + d]);
  sum = warp_sum(sum);
  if (lane == 0) {
    const int64_t h = row % H, t = (row / H) % L, b = row / (static_cast<int64_t>(H) * L);
    delta[(b * H + h) * L + t] = sum;
  }
}

// dq_i = scale * sum_{j<=i} P_ij (dP_ij - D_i) k_j, one warp per query row, keys in tiles.
template <class T>
__global__ void __launch_bounds__(kThreads)
    attention_dq_simt_kernel(const T* q, const T* k, const T* v, const float* lse, const float* delta, const T* dout,
                             T* dq, int L, int H, int D, float scale) {
  extern __shared__ float smem[];
  const int P = D + 1;
  float* k_s = smem;
  float* v_s = k_s + kTile * P;
  float* q_s = v_s + kTile * P;
  float* do_s = q_s + kWarps * D;
  const int bh = blockIdx.x, row0 = blockIdx.y * kWarps, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const HeadView x = head_view(bh, L, H, D);
  const int i = row0 + warp;
  load_rows(q_s, D, q + x.base, x.row_stride, row0, kWarps, L, D, scale);
  load_rows(do_s, D, dout + x.base, x.row_stride, row0, kWarps, L, D);
  const float row_lse = i < L ? lse[static_cast<int64_t>(bh) * L + i] : 0.0f;
  const float row_delta = i < L ? delta[static_cast<int64_t>(bh) * L + i] : 0.0f;

  float acc[kPerLane] = {};
  for_each_causal_key_tile(k, v, x, k_s, v_s, P, row0, i, L, D, [&](int j0) {
    const int j = j0 + lane;
    float ds = 0.0f;
    if (j <= i) {
      float s = 0.0f, dp = 0.0f;
      for (int d = 0; d < D; ++d) {
        s += q_s[warp * D + d] * k_s[lane * P + d];
        dp += do_s[warp * D + d] * v_s[lane * P + d];
      }
      const float p = expf(s - row_lse);
      ds = p * (dp - row_delta);
    }
    add_weighted_tile_rows(acc, ds, k_s, P, D, lane);
  });
  if (i >= L) return;
#pragma unroll
  for (int e = 0; e < kPerLane; ++e) {
    const int d = lane + 32 * e;
    if (d < D) dq[x.base + i * x.row_stride + d] = from_float<T>(acc[e] * scale);
  }
}

// dv_j = sum_{i>=j} P_ij dO_i and dk_j = scale * sum_{i>=j} P_ij (dP_ij - D_i) q_i, one warp per key.
template <class T>
__global__ void __launch_bounds__(kThreads)
    attention_dkdv_simt_kernel(const T* q, const T* k, const T* v, const float* lse, const float* delta,
                               const T* dout, T* dk, T* dv, int L, int H, int D, float scale) {
  extern __shared__ float smem[];
  const int P = D + 1;
  float* q_s = smem;
  float* do_s = q_s + kTile * P;
  float* k_s = do_s + kTile * P;
  float* v_s = k_s + kWarps * D;
  float* lse_s = v_s + kWarps * D;
  float* delta_s = lse_s + kTile;
  const int bh = blockIdx.x, key0 = blockIdx.y * kWarps, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const HeadView x = head_view(bh, L, H, D);
  const int j = key0 + warp;
  load_rows(k_s, D, k + x.base, x.row_stride, key0, kWarps, L, D, scale);
  load_rows(v_s, D, v + x.base, x.row_stride, key0, kWarps, L, D);

  float dk_acc[kPerLane] = {}, dv_acc[kPerLane] = {};
  for (int i0 = key0; i0 < L; i0 += kTile) {
    __syncthreads();
    load_rows(q_s, P, q + x.base, x.row_stride, i0, kTile, L, D);
    load_rows(do_s, P, dout + x.base, x.row_stride, i0, kTile, L, D);
    if (threadIdx.x < kTile) {
      const int i = i0 + threadIdx.x;
      lse_s[threadIdx.x] = i < L ? lse[static_cast<int64_t>(bh) * L + i] : 0.0f;
      delta_s[threadIdx.x] = i < L ? delta[static_cast<int64_t>(bh) * L + i] : 0.0f;
    }
    __syncthreads();
    if (j >= L) continue;
    const int i = i0 + lane;
    float p = 0.0f, ds = 0.0f;
    if (i < L && i >= j) {
      float s = 0.0f, dp = 0.0f;
      for (int d = 0; d < D; ++d) {
        s += q_s[lane * P + d] * k_s[warp * D + d];
        dp += do_s[lane * P + d] * v_s[warp * D + d];
      }
      p = expf(s - lse_s[lane]);
      ds = p * (dp - delta_s[lane]);
    }
    for (int ii = 0; ii < kTile; ++ii) {
      const float pi = __shfl_sync(0xffffffffu, p, ii), dsi = __shfl_sync(0xffffffffu, ds, ii);
#pragma unroll
      for (int e = 0; e < kPerLane; ++e) {
        const int d = lane + 32 * e;
        if (d < D) {
          dv_acc[e] += pi * do_s[ii * P + d];
          dk_acc[e] += dsi * q_s[ii * P + d];
        }
      }
    }
  }
  if (j >= L) return;
#pragma unroll
  for (int e = 0; e < kPerLane; ++e) {
    const int d = lane + 32 * e;
    if (d < D) {
      dk[x.base + j * x.row_stride + d] = from_float<T>(dk_acc[e] * scale);
      dv[x.base + j * x.row_stride + d] = from_float<T>(dv_acc[e]);
    }
  }
}

template <class Kernel>
void allow_smem(Kernel kernel, size_t bytes) {
  if (bytes > 48 * 1024)
    cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

dim3 row_grid(const AttentionShape& s) {
  return dim3(static_cast<unsigned>(s.batch * s.heads), static_cast<unsigned>((s.seq_len + kWarps - 1) / kWarps));
}

}  // namespace

template <class T>
void attention_fwd_simt(const T* q, const T* k, const T* v, T* out, float* lse, const AttentionShape& s,
                        cudaStream_t stream) {
  const int D = static_cast<int>(s.head_dim);
  const size_t smem = (2 * kTile * (D + 1) + kWarps * D) * sizeof(float);
  allow_smem(attention_fwd_simt_kernel<T>, smem);
  attention_fwd_simt_kernel<T><<<row_grid(s), kThreads, smem, stream>>>(
      q, k, v, out, lse, static_cast<int>(s.seq_len), static_cast<int>(s.heads), D, attention_scale(s));
  cudaCheckLaunch();
}

template <class T>
void attention_delta(const T* out, const T* dout, float* delta, const AttentionShape& s, cudaStream_t stream) {
  const int64_t rows = s.batch * s.seq_len * s.heads;
  const int rows_per_block = 8;
  attention_delta_kernel<T><<<static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block), 32 * rows_per_block, 0,
                              stream>>>(out, dout, delta, static_cast<int>(s.seq_len), static_cast<int>(s.heads),
                                        static_cast<int>(s.head_dim), rows);
  cudaCheckLaunch();
}

template <class T>
void attention_bwd_simt(const T* q, const T* k, const T* v, const float* lse, const float* delta, const T* dout,
                        T* dq, T* dk, T* dv, const AttentionShape& s, cudaStream_t stream) {
  const int D = static_cast<int>(s.head_dim), L = static_cast<int>(s.seq_len), H = static_cast<int>(s.heads);
  const size_t smem = (2 * kTile * (D + 1) + 2 * kWarps * D + 2 * kTile) * sizeof(float);
  allow_smem(attention_dq_simt_kernel<T>, smem);
  allow_smem(attention_dkdv_simt_kernel<T>, smem);
  attention_dq_simt_kernel<T><<<row_grid(s), kThreads, smem, stream>>>(q, k, v, lse, delta, dout, dq, L, H, D,
                                                                        attention_scale(s));
  cudaCheckLaunch();
  attention_dkdv_simt_kernel<T><<<row_grid(s), kThreads, smem, stream>>>(q, k, v, lse, delta, dout, dk, dv, L, H, D,
                                                                          attention_scale(s));
  cudaCheckLaunch();
}

#define SEQBENCH_INSTANTIATE(T)                                                                                   \
  template void attention_fwd_simt<T>(const T*, const T*, const T*, T*, float*, const AttentionShape&,           \
                                      cudaStream_t);                                                             \
  template void attention_delta<T>(const T*, const T*, float*, const AttentionShape&, cudaStream_t);             \
  template void attention_bwd_simt<T>(const T*, const T*, const T*, const float*, const float*, const T*, T*, T*, \
                                      T*, const AttentionShape&, cudaStream_t);
SEQBENCH_INSTANTIATE(float)
SEQBENCH_INSTANTIATE(__nv_bfloat16)
#undef SEQBENCH_INSTANTIATE

}  // namespace seqbench
