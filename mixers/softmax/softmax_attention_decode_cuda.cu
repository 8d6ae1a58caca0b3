// One-token causal attention decode, split-K ("flash decoding"): each block reduces 256 cache tokens
// to (max, sum, unnormalised output) with 16-byte loads, a second pass merges the splits.
// Checked against softmax_attention_decode_cpu in test_gpu_softmax.cpp.
#include <cuda_bf16.h>

#include <cmath>

#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/element_type.cuh"
#include "ops/cuda/scratch_buffer.cuh"

namespace seqbench {
namespace {

constexpr int kThreads = 128;
constexpr int kKeysPerSplit = 256;
constexpr int kKeysInFlight = 4;  // per lane group: loads issued before the first is used

int64_t split_count(int64_t len) { return (len + kKeysPerSplit - 1) / kKeysPerSplit; }

__device__ __forceinline__ void unpack(const uint4& raw, float (&x)[8]) {
  const __nv_bfloat162* pairs = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = __bfloat1622float2(pairs[i]);
    x[2 * i] = f.x;
    x[2 * i + 1] = f.y;
  }
}
__device__ __forceinline__ void unpack(const uint4& raw, float (&x)[4]) {
  x[0] = __uint_as_float(raw.x), x[1] = __uint_as_float(raw.y), x[2] = __uint_as_float(raw.z),
  x[3] = __uint_as_float(raw.w);
}

// A key row is shared by LPR lanes, each holding EPL elements: contiguous 16-byte pieces
// (kVector) or strided scalars for any head_dim.
template <class T, int LPR, int EPL, bool kVector>
struct RowSlice {
  int sub, D;
  __device__ int index(int e) const { return kVector ? sub * EPL + e : sub + LPR * e; }
  __device__ void load(const T* row, float (&x)[EPL]) const {
    if constexpr (kVector) {
      unpack(*reinterpret_cast<const uint4*>(row + sub * EPL), x);
    } else {
#pragma unroll
      for (int e = 0; e < EPL; ++e) x[e] = index(e) < D ? to_float(row[index(e)]) : 0.0f;
    }
  }
};

template <class T, int LPR, int EPL, bool kVector>
__global__ void __launch_bounds__(kThreads)
    attention_decode_split_kernel(const T* __restrict__ q_t, const T* __restrict__ k_cache,
                                  const T* __restrict__ v_cache, int len, int cap, int H, int D, float scale_log2,
                                  int n_splits, float* __restrict__ partial, T* __restrict__ out_t) {
  constexpr int kGroups = kThreads / LPR;
  __shared__ float m_s[kGroups], l_s[kGroups];
  extern __shared__ float o_s[];  // [kGroups][D]
  const int bh = blockIdx.x, split = blockIdx.y, b = bh / H, h = bh % H;
  const int group = threadIdx.x / LPR;
  const RowSlice<T, LPR, EPL, kVector> slice{static_cast<int>(threadIdx.x % LPR), D};
  const int64_t row_stride = static_cast<int64_t>(H) * D;
  const T* k_head = k_cache + static_cast<int64_t>(b) * cap * row_stride + static_cast<int64_t>(h) * D;
  const T* v_head = v_cache + static_cast<int64_t>(b) * cap * row_stride + static_cast<int64_t>(h) * D;
  const int begin = split * kKeysPerSplit, end = min(len, begin + kKeysPerSplit);

  float qv[EPL];
  slice.load(q_t + static_cast<int64_t>(bh) * D, qv);
#pragma unroll
  for (int e = 0; e < EPL; ++e) qv[e] *= scale_log2;
  float o[EPL] = {};
  float m = -INFINITY, l = 0.0f;
  // Every lane runs the same number of rounds: the shuffles below span groups of one warp.
  for (int j0 = begin; j0 < end; j0 += kGroups * kKeysInFlight) {
    const int j = j0 + group;
    float kx[kKeysInFlight][EPL], vx[kKeysInFlight][EPL];
#pragma unroll
    for (int u = 0; u < kKeysInFlight; ++u) {
      const int key = min(j + u * kGroups, end - 1);  // clamped reads, masked below
      slice.load(k_head + key * row_stride, kx[u]);
      slice.load(v_head + key * row_stride, vx[u]);
    }
    float s[kKeysInFlight];
    float m_new = m;
#pragma unroll
    for (int u = 0; u < kKeysInFlight; ++u) {
      float dot = 0.0f;
#pragma unroll
      for (int e = 0; e < EPL; ++e) dot += qv[e] * kx[u][e];
#pragma unroll
      for (int offset = LPR / 2; offset > 0; offset >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
      s[u] = j + u * kGroups < end ? dot : -INFINITY;
      m_new = fmaxf(m_new, s[u]);
    }
    if (m_new == -INFINITY) continue;  // no valid key for this group in this round
    const float correction = exp2f(m - m_new);
    l *= correction;
#pragma unroll
    for (int e = 0; e < EPL; ++e) o[e] *= correction;
#pragma unroll
    for (int u = 0; u < kKeysInFlight; ++u) {
      const float p = exp2f(s[u] - m_new);
      l += p;
#pragma unroll
      for (int e = 0; e < EPL; ++e) o[e] += p * vx[u][e];
    }
    m = m_new;
  }

  if (slice.sub == 0) m_s[group] = m, l_s[group] = l;
#pragma unroll
  for (int e = 0; e < EPL; ++e)
    if (slice.index(e) < D) o_s[group * D + slice.index(e)] = o[e];
  __syncthreads();
  float block_max = -INFINITY;
  for (int gi = 0; gi < kGroups; ++gi) block_max = fmaxf(block_max, m_s[gi]);
  float block_sum = 0.0f;
  for (int gi = 0; gi < kGroups; ++gi) block_sum += l_s[gi] * exp2f(m_s[gi] - block_max);  // empty groups: 0
  for (int d = threadIdx.x; d < D; d += kThreads) {
    float acc = 0.0f;
    for (int gi = 0; gi < kGroups; ++gi) acc += o_s[gi * D + d] * exp2f(m_s[gi] - block_max);
    if (n_splits == 1) {
      out_t[static_cast<int64_t>(bh) * D + d] = from_float<T>(acc / block_sum);
    } else {
      float* p = partial + (static_cast<int64_t>(bh) * n_splits + split) * (D + 2);
      p[2 + d] = acc;
      if (d == 0) p[0] = block_max, p[1] = block_sum;
    }
  }
}

template <class T>
__global__ void attention_decode_merge_kernel(const float* __restrict__ partial, int n_splits, int D,
                                              T* __restrict__ out_t) {
  const int bh = blockIdx.x;
  const float* p = partial + static_cast<int64_t>(bh) * n_splits * (D + 2);
  float m = -INFINITY;
  for (int sp = 0; sp < n_splits; ++sp) m = fmaxf(m, p[sp * (D + 2)]);
  float l = 0.0f;
  for (int sp = 0; sp < n_splits; ++sp) l += p[sp * (D + 2) + 1] * exp2f(p[sp * (D + 2)] - m);
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float acc = 0.0f;
    for (int sp = 0; sp < n_splits; ++sp) acc += p[sp * (D + 2) + 2 + d] * exp2f(p[sp * (D + 2)] - m);
    out_t[static_cast<int64_t>(bh) * D + d] = from_float<T>(acc / l);
  }
}

template <class T, int LPR, int EPL, bool kVector>
void launch_split(const T* q_t, const T* k_cache, const T* v_cache, int64_t len, T* out_t, const AttentionShape& c,
                  float* partial, int n_splits, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(c.batch * c.heads), static_cast<unsigned>(n_splits));
  const size_t smem = (kThreads / LPR) * c.head_dim * sizeof(float);
  attention_decode_split_kernel<T, LPR, EPL, kVector><<<grid, kThreads, smem, stream>>>(
      q_t, k_cache, v_cache, static_cast<int>(len), static_cast<int>(c.seq_len), static_cast<int>(c.heads),
      static_cast<int>(c.head_dim), attention_scale(c) * kLog2e, n_splits, partial, out_t);
  cudaCheckLaunch();
}

}  // namespace

int64_t softmax_attention_decode_workspace_floats(const AttentionShape& c, int64_t len) {
  const int64_t splits = split_count(len);
  return splits > 1 ? c.batch * c.heads * splits * (c.head_dim + 2) : 0;
}

template <class T>
void softmax_attention_decode_cuda(const T* q_t, const T* k_cache, const T* v_cache, int64_t len, T* out_t,
                                   const AttentionShape& c, float* workspace, cudaStream_t stream) {
  check_attention_shape(c, "softmax_attention_decode_cuda");
  if (len < 1 || len > c.seq_len)
    throw std::invalid_argument("softmax_attention_decode_cuda: len must be in [1, " + std::to_string(c.seq_len) +
                                "] (the cache capacity), got " + std::to_string(len));
  if (c.batch == 0 || c.heads == 0) return;
  const int n_splits = static_cast<int>(split_count(len));
  const ScratchFloats scratch(workspace, softmax_attention_decode_workspace_floats(c, len), stream);
  constexpr int kVec = 16 / sizeof(T);  // elements per 16-byte load
  const bool vector = aligned_16(q_t) && aligned_16(k_cache) && aligned_16(v_cache) && c.head_dim % kVec == 0;
  const int64_t lanes = c.head_dim / kVec;
  if (vector && lanes == 8) {
    launch_split<T, 8, kVec, true>(q_t, k_cache, v_cache, len, out_t, c, scratch.data(), n_splits, stream);
  } else if (vector && lanes == 16) {
    launch_split<T, 16, kVec, true>(q_t, k_cache, v_cache, len, out_t, c, scratch.data(), n_splits, stream);
  } else if (vector && lanes == 32) {
    launch_split<T, 32, kVec, true>(q_t, k_cache, v_cache, len, out_t, c, scratch.data(), n_splits, stream);
  } else {
    launch_split<T, 32, kAttentionMaxHeadDim / 32, false>(q_t, k_cache, v_cache, len, out_t, c, scratch.data(),
                                                          n_splits, stream);
  }
  if (n_splits > 1) {
    attention_decode_merge_kernel<T><<<static_cast<unsigned>(c.batch * c.heads), kThreads, 0, stream>>>(
        scratch.data(), n_splits, static_cast<int>(c.head_dim), out_t);
    cudaCheckLaunch();
  }
}

template void softmax_attention_decode_cuda<float>(const float*, const float*, const float*, int64_t, float*,
                                                   const AttentionShape&, float*, cudaStream_t);
template void softmax_attention_decode_cuda<__nv_bfloat16>(const __nv_bfloat16*, const __nv_bfloat16*,
                                                           const __nv_bfloat16*, int64_t, __nv_bfloat16*,
                                                           const AttentionShape&, float*, cudaStream_t);

}  // namespace seqbench
