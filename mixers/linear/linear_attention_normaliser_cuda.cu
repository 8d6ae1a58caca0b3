// Linear attention's normaliser den_t = q_t . sum_{s<=t} k_s + eps and its backward (contract:
// linear_attention_normaliser_cuda.cuh), as chunk totals, a scan over chunks and one walk per chunk.
// Checked through linear_attention_{fwd,bwd}_cuda against the CPU kernels in test_gpu_linear.cpp.
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "mixers/linear/linear_attention_normaliser_cuda.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/warp_reduce.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kChunk = 64;
constexpr int kMaxF = static_cast<int>(kNormaliserMaxFeatures);
constexpr int kScanSlices = 8;  // the chunks of a head in 8 runs, so a long scan is not one serial walk

struct Grid {
  int L, H, NC, F, D;
  int BH;
};

Grid grid_of(const LinearAttentionShape& s) {
  return {static_cast<int>(s.seq_len), static_cast<int>(s.heads), static_cast<int>((s.seq_len + kChunk - 1) / kChunk),
          static_cast<int>(s.feature_dim), static_cast<int>(s.head_dim), static_cast<int>(s.batch * s.heads)};
}

// Offset of token t of head bh in a [B, L, H, width] tensor.
__device__ __forceinline__ int64_t row_offset(int bh, int t, const Grid& g, int width) {
  return ((static_cast<int64_t>(bh / g.H) * g.L + t) * g.H + bh % g.H) * width;
}
__device__ __forceinline__ int64_t chunk_offset(int bh, int c, const Grid& g) {
  return (static_cast<int64_t>(bh) * g.NC + c) * g.F;
}

// One block per (head, chunk), one thread per feature: sums[bh, c] = sum_t w_t x_t over the chunk's tokens
// (weight [B, H, L], null: 1).
__global__ void chunk_sum_kernel(const bf16* __restrict__ x, const float* __restrict__ weight,
                                 float* __restrict__ sums, Grid g) {
  const int bh = blockIdx.x / g.NC, c = blockIdx.x % g.NC, f = threadIdx.x, t0 = c * kChunk;
  const int n = min(kChunk, g.L - t0);
  const bf16* x_f = x + row_offset(bh, t0, g, g.F) + f;
  const int64_t stride = static_cast<int64_t>(g.H) * g.F;
  float sum = 0.0f;
#pragma unroll 8
  for (int t = 0; t < n; ++t) {
    const float w = weight ? weight[static_cast<int64_t>(bh) * g.L + t0 + t] : 1.0f;
    sum += w * __bfloat162float(x_f[t * stride]);
  }
  sums[chunk_offset(bh, c, g) + f] = sum;
}

// One block per head, kScanSlices x F threads: scanned[c] = the sum of sums over the chunks before c (reverse:
// after c); total [BH, F] (may be null) the sum over all chunks.
__global__ void chunk_scan_kernel(const float* __restrict__ sums, float* __restrict__ scanned, float* __restrict__ total,
                                  bool reverse, Grid g) {
  __shared__ float slice_totals[kScanSlices][kMaxF];
  const int bh = blockIdx.x, f = threadIdx.x % g.F, slice = threadIdx.x / g.F;
  const int per_slice = (g.NC + kScanSlices - 1) / kScanSlices;
  const int begin = min(g.NC, slice * per_slice), end = min(g.NC, begin + per_slice);
  auto at = [&](int i) { return chunk_offset(bh, reverse ? g.NC - 1 - i : i, g) + f; };  // i in scan order
  float own = 0.0f;
  for (int i = begin; i < end; ++i) own += sums[at(i)];
  slice_totals[slice][f] = own;
  __syncthreads();
  float run = 0.0f;
  for (int s = 0; s < slice; ++s) run += slice_totals[s][f];
  for (int i = begin; i < end; ++i) {
    const float x = sums[at(i)];
    scanned[at(i)] = run;
    run += x;
  }
  if (total && slice == kScanSlices - 1) total[static_cast<int64_t>(bh) * g.F + f] = run;
}

// One block per (head, chunk), one thread per feature walks the chunk carrying z_t[f]; the products
// q_t[f] z_t[f] go to shared memory, one warp per token sums them.
__global__ void normalise_output_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                        const float* __restrict__ prefix, bf16* __restrict__ out,
                                        float* __restrict__ den, float eps, Grid g) {
  __shared__ float products[kChunk][kMaxF + 1];  // +1: the token-per-warp reads hit distinct banks
  __shared__ float inverse[kChunk];
  const int bh = blockIdx.x / g.NC, c = blockIdx.x % g.NC, f = threadIdx.x, t0 = c * kChunk;
  const int n = min(kChunk, g.L - t0);
  const int64_t stride = static_cast<int64_t>(g.H) * g.F;
  const bf16* q_f = q + row_offset(bh, t0, g, g.F) + f;
  const bf16* k_f = k + row_offset(bh, t0, g, g.F) + f;
  float z = prefix[chunk_offset(bh, c, g) + f];
#pragma unroll 8
  for (int t = 0; t < n; ++t) {
    z += __bfloat162float(k_f[t * stride]);
    products[t][f] = __bfloat162float(q_f[t * stride]) * z;
  }
  __syncthreads();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int t = warp; t < n; t += warps) {
    float dot = 0.0f;
    for (int i = lane; i < g.F; i += 32) dot += products[t][i];
    dot = warp_sum(dot);
    if (lane == 0) {
      const float d = dot + eps;
      den[static_cast<int64_t>(bh) * g.L + t0 + t] = d;
      inverse[t] = 1.0f / d;
    }
  }
  __syncthreads();
  bf16* out_h = out + row_offset(bh, t0, g, g.D);
  const int64_t out_stride = static_cast<int64_t>(g.H) * g.D;
  for (int i = threadIdx.x; i < n * g.D; i += blockDim.x) {
    bf16* x = out_h + (i / g.D) * out_stride + i % g.D;
    *x = __float2bfloat16(__bfloat162float(*x) * inverse[i / g.D]);
  }
}

// One warp per (token, head) row, rows in memory order (b, t, h).
__global__ void output_gradient_kernel(const bf16* __restrict__ out, const float* __restrict__ den,
                                       const bf16* __restrict__ dout, bf16* __restrict__ dnum,
                                       float* __restrict__ dden, Grid g, int64_t rows) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x % 32;
  const int64_t h = row % g.H, t = (row / g.H) % g.L, b = row / (static_cast<int64_t>(g.H) * g.L);
  const int64_t at = (b * g.H + h) * g.L + t;
  const float inv = 1.0f / den[at];
  float dot = 0.0f;
  for (int d = lane; d < g.D; d += 32) {
    const float gd = __bfloat162float(dout[row * g.D + d]);
    dnum[row * g.D + d] = __float2bfloat16(gd * inv);
    dot += gd * __bfloat162float(out[row * g.D + d]);
  }
  dot = warp_sum(dot);
  if (lane == 0) dden[at] = -dot * inv;
}

// One block per (head, chunk), one thread per feature: z_t forwards into dq, sum_{t>=s} dden_t q_t
// backwards into dk.
__global__ void add_normaliser_gradient_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                               const float* __restrict__ dden, const float* __restrict__ key_prefix,
                                               const float* __restrict__ query_suffix, bf16* __restrict__ dq,
                                               bf16* __restrict__ dk, Grid g) {
  __shared__ float dd[kChunk];
  const int bh = blockIdx.x / g.NC, c = blockIdx.x % g.NC, f = threadIdx.x, t0 = c * kChunk;
  const int n = min(kChunk, g.L - t0);
  for (int i = threadIdx.x; i < n; i += blockDim.x) dd[i] = dden[static_cast<int64_t>(bh) * g.L + t0 + i];
  __syncthreads();
  const int64_t stride = static_cast<int64_t>(g.H) * g.F, base = row_offset(bh, t0, g, g.F) + f;
  float z = key_prefix[chunk_offset(bh, c, g) + f];
#pragma unroll 8
  for (int t = 0; t < n; ++t) {
    z += __bfloat162float(k[base + t * stride]);
    bf16* x = dq + base + t * stride;
    *x = __float2bfloat16(__bfloat162float(*x) + dd[t] * z);
  }
  float w = query_suffix[chunk_offset(bh, c, g) + f];
#pragma unroll 8
  for (int t = n - 1; t >= 0; --t) {
    w += dd[t] * __bfloat162float(q[base + t * stride]);
    bf16* x = dk + base + t * stride;
    *x = __float2bfloat16(__bfloat162float(*x) + w);
  }
}

// sums <- chunk totals of w_t x_t, then scanned <- their exclusive scan (forwards or backwards in time).
void chunk_scan(const bf16* x, const float* weight, float* sums, float* scanned, float* total, bool reverse,
                const Grid& g, cudaStream_t stream) {
  chunk_sum_kernel<<<g.BH * g.NC, g.F, 0, stream>>>(x, weight, sums, g);
  cudaCheckLaunch();
  chunk_scan_kernel<<<g.BH, kScanSlices * g.F, 0, stream>>>(sums, scanned, total, reverse, g);
  cudaCheckLaunch();
}

bool nothing_to_do(const Grid& g) { return g.BH == 0 || g.L == 0; }

}  // namespace

LinearNormaliserVariant linear_normaliser_variant() {
  static const LinearNormaliserVariant chosen = [] {
    const char* env = std::getenv("SEQBENCH_LINEAR_NORMALISER");
    const std::string name = env ? env : "";
    if (name.empty() || name == "fused") return LinearNormaliserVariant::fused;
    if (name == "separate") return LinearNormaliserVariant::separate;
    throw std::invalid_argument("SEQBENCH_LINEAR_NORMALISER='" + name + "'; expected fused or separate");
  }();
  return chosen;
}

int64_t normaliser_chunk_sum_floats(const LinearAttentionShape& s) {
  return s.batch * s.heads * ((s.seq_len + kChunk - 1) / kChunk) * s.feature_dim;
}

void key_sum_prefix_cuda(const bf16* k, float* prefix, float* total, float* scratch, const LinearAttentionShape& s,
                         cudaStream_t stream) {
  const Grid g = grid_of(s);
  if (nothing_to_do(g)) return;
  chunk_scan(k, nullptr, scratch, prefix, total, false, g, stream);
}

void normalise_output_cuda(const bf16* q, const bf16* k, const float* prefix, bf16* out, float* den, float eps,
                           const LinearAttentionShape& s, cudaStream_t stream) {
  const Grid g = grid_of(s);
  if (nothing_to_do(g)) return;
  normalise_output_kernel<<<g.BH * g.NC, g.F, 0, stream>>>(q, k, prefix, out, den, eps, g);
  cudaCheckLaunch();
}

void normaliser_output_gradient_cuda(const bf16* q, const bf16* k, const bf16* out, const float* den, const bf16* dout,
                                     bf16* dnum, float* dden, float* key_prefix, float* query_suffix, float* scratch,
                                     const LinearAttentionShape& s, cudaStream_t stream) {
  const Grid g = grid_of(s);
  if (nothing_to_do(g)) return;
  const int64_t rows = s.batch * s.seq_len * s.heads;
  constexpr int kRowsPerBlock = 8;
  output_gradient_kernel<<<static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock), 32 * kRowsPerBlock, 0,
                           stream>>>(out, den, dout, dnum, dden, g, rows);
  cudaCheckLaunch();
  chunk_scan(k, nullptr, scratch, key_prefix, nullptr, false, g, stream);
  chunk_scan(q, dden, scratch, query_suffix, nullptr, true, g, stream);
}

void add_normaliser_gradient_cuda(const bf16* q, const bf16* k, const float* dden, const float* key_prefix,
                                  const float* query_suffix, bf16* dq, bf16* dk, const LinearAttentionShape& s,
                                  cudaStream_t stream) {
  const Grid g = grid_of(s);
  if (nothing_to_do(g)) return;
  add_normaliser_gradient_kernel<<<g.BH * g.NC, g.F, 0, stream>>>(q, k, dden, key_prefix, query_suffix, dq, dk, g);
  cudaCheckLaunch();
}

}  // namespace seqbench
