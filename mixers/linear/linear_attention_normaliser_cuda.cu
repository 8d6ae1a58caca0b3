// Linear attention's normaliser den_t = q_t . sum_{s<=t} k_s + eps and its backward (contract:
// linear_attention_normaliser_cuda.cuh), as chunk totals, a scan over chunks and one pass per chunk.
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
  return {static_cast<int>(s.seq_len),
          static_cast<int>(s.heads),
          static_cast<int>((s.seq_len + kChunk - 1) / kChunk),
          static_cast<int>(s.feature_dim),
          static_cast<int>(s.head_dim),
          static_cast<int>(s.batch * s.heads)};
}

// Offset of token t of head bh in a [B, L, H, width] tensor.
__device__ __forceinline__ int64_t row_offset(int bh, int t, const Grid& g, int width) {
  return ((static_cast<int64_t>(bh / g.H) * g.L + t) * g.H + bh % g.H) * width;
}
__device__ __forceinline__ int64_t chunk_offset(int bh, int c, const Grid& g) {
  return (static_cast<int64_t>(bh) * g.NC + c) * g.F;
}

// The row-parallel kernels split a chunk into kGroups runs of kGroupRows tokens and each row into 8-feature
// (16-byte) vectors: one thread per (run, vector), F / 8 kGroups = 2 F threads, every load 16 bytes wide and all
// of a thread's rows in flight at once (the old walk, one thread per feature stepping token by token with 2-byte
// loads, left the memory system mostly idle).
constexpr int kGroups = 16, kGroupRows = kChunk / kGroups, kVector = 8;

struct RowSlot {
  int bh, c, t0, vec, group, f;  // f: the vector's first feature
};
__device__ __forceinline__ RowSlot row_slot(const Grid& g) {
  RowSlot r;
  r.bh = blockIdx.x / g.NC, r.c = blockIdx.x % g.NC, r.t0 = r.c * kChunk;
  r.vec = threadIdx.x % (g.F / kVector), r.group = threadIdx.x / (g.F / kVector), r.f = kVector * r.vec;
  return r;
}
// Token t of the thread's run, or -1 past L.
__device__ __forceinline__ int run_token(const RowSlot& r, int i, const Grid& g) {
  const int t = r.t0 + r.group * kGroupRows + i;
  return t < g.L ? t : -1;
}
__device__ __forceinline__ void add_vector(float (&acc)[kVector], uint4 x, float w) {
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&x);
#pragma unroll
  for (int e = 0; e < kVector / 2; ++e) {
    const float2 p = __bfloat1622float2(h[e]);
    acc[2 * e] += w * p.x;
    acc[2 * e + 1] += w * p.y;
  }
}
__device__ __forceinline__ uint4 load_vector(const bf16* p) { return *reinterpret_cast<const uint4*>(p); }
// 8 floats to or from 16-byte aligned shared memory, two 16-byte accesses.
__device__ __forceinline__ void store8(float* dst, const float (&x)[kVector]) {
  reinterpret_cast<float4*>(dst)[0] = make_float4(x[0], x[1], x[2], x[3]);
  reinterpret_cast<float4*>(dst)[1] = make_float4(x[4], x[5], x[6], x[7]);
}
__device__ __forceinline__ void load8(float (&x)[kVector], const float* src) {
  const float4 a = reinterpret_cast<const float4*>(src)[0], b = reinterpret_cast<const float4*>(src)[1];
  x[0] = a.x, x[1] = a.y, x[2] = a.z, x[3] = a.w, x[4] = b.x, x[5] = b.y, x[6] = b.z, x[7] = b.w;
}
// x[0..8) <- x + w a, one 16-byte load and store.
__device__ __forceinline__ void add_scaled_in_place(bf16* x, const float (&a)[kVector], float w) {
  uint4 v = load_vector(x);
  __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&v);
#pragma unroll
  for (int e = 0; e < kVector / 2; ++e) {
    const float2 p = __bfloat1622float2(h[e]);
    h[e] = __floats2bfloat162_rn(p.x + w * a[2 * e], p.y + w * a[2 * e + 1]);
  }
  *reinterpret_cast<uint4*>(x) = v;
}

// One block per (head, chunk), 2 F threads: sums[bh, c] = sum_t w_t x_t over the chunk's tokens (weight [B, H, L],
// null: 1); the runs' partial sums meet in shared memory and are added in a fixed order.
__global__ void chunk_sum_kernel(const bf16* __restrict__ x, const float* __restrict__ weight, float* __restrict__ sums,
                                 Grid g) {
  __shared__ __align__(16) float partial[kGroups][kMaxF];
  const RowSlot r = row_slot(g);
  uint4 rows[kGroupRows];
  float w[kGroupRows];
#pragma unroll
  for (int i = 0; i < kGroupRows; ++i) {
    const int t = run_token(r, i, g);
    rows[i] = t >= 0 ? load_vector(x + row_offset(r.bh, t, g, g.F) + r.f) : make_uint4(0, 0, 0, 0);
    w[i] = t >= 0 ? (weight ? weight[static_cast<int64_t>(r.bh) * g.L + t] : 1.0f) : 0.0f;
  }
  float acc[kVector] = {};
#pragma unroll
  for (int i = 0; i < kGroupRows; ++i) add_vector(acc, rows[i], w[i]);
  store8(&partial[r.group][r.f], acc);
  __syncthreads();
  if (threadIdx.x < g.F) {
    float sum = 0.0f;
#pragma unroll
    for (int i = 0; i < kGroups; ++i) sum += partial[i][threadIdx.x];
    sums[chunk_offset(r.bh, r.c, g) + threadIdx.x] = sum;
  }
}

// One block per head, kScanSlices x F threads: scanned[c] = the sum of sums over the chunks before c (reverse:
// after c); total [BH, F] (may be null) the sum over all chunks.
__global__ void chunk_scan_kernel(const float* __restrict__ sums, float* __restrict__ scanned,
                                  float* __restrict__ total, bool reverse, Grid g) {
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

// One block per (head, chunk), 2 F threads as in chunk_sum_kernel: run totals of k, their exclusive scan from
// prefix, then each thread walks its rows carrying z over its 8 features and the F / 8 lanes of a run sum
// q_t . z_t; finally out is divided in place, one 16-byte vector per thread and step.
__global__ void normalise_output_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                        const float* __restrict__ prefix, bf16* __restrict__ out,
                                        float* __restrict__ den, float eps, Grid g) {
  __shared__ __align__(16) float key_runs[kGroups][kMaxF];
  __shared__ float inverse[kChunk];
  const RowSlot r = row_slot(g);
  uint4 kr[kGroupRows], qr[kGroupRows];
#pragma unroll
  for (int i = 0; i < kGroupRows; ++i) {
    const int t = run_token(r, i, g);
    const int64_t at = row_offset(r.bh, t < 0 ? 0 : t, g, g.F) + r.f;
    kr[i] = t >= 0 ? load_vector(k + at) : make_uint4(0, 0, 0, 0);
    qr[i] = t >= 0 ? load_vector(q + at) : make_uint4(0, 0, 0, 0);
  }
  {
    float ks[kVector] = {};
#pragma unroll
    for (int i = 0; i < kGroupRows; ++i) add_vector(ks, kr[i], 1.0f);
    store8(&key_runs[r.group][r.f], ks);
  }
  __syncthreads();
  if (threadIdx.x < g.F) {  // exclusive scan over the runs, in place
    float run = prefix[chunk_offset(r.bh, r.c, g) + threadIdx.x];
#pragma unroll
    for (int i = 0; i < kGroups; ++i) {
      const float own = key_runs[i][threadIdx.x];
      key_runs[i][threadIdx.x] = run;
      run += own;
    }
  }
  __syncthreads();
  float z[kVector];
  load8(z, &key_runs[r.group][r.f]);
  const int lanes = g.F / kVector;  // a run's lanes: 8 or 16 consecutive threads of one warp (F is 64 or 128)
#pragma unroll
  for (int i = 0; i < kGroupRows; ++i) {
    add_vector(z, kr[i], 1.0f);
    float dot = 0.0f;
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&qr[i]);
#pragma unroll
    for (int e = 0; e < kVector / 2; ++e) {
      const float2 p = __bfloat1622float2(h[e]);
      dot += p.x * z[2 * e] + p.y * z[2 * e + 1];
    }
    for (int offset = lanes / 2; offset > 0; offset >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
    const int t = run_token(r, i, g);
    if (r.vec == 0 && t >= 0) {
      const float d = dot + eps;
      den[static_cast<int64_t>(r.bh) * g.L + t] = d;
      inverse[t - r.t0] = 1.0f / d;
    }
  }
  __syncthreads();
  const int n = min(kChunk, g.L - r.t0), vectors = g.D / kVector;
  for (int i = threadIdx.x; i < n * vectors; i += blockDim.x) {
    const int t = i / vectors;
    bf16* x = out + row_offset(r.bh, r.t0 + t, g, g.D) + kVector * (i % vectors);
    uint4 v = load_vector(x);
    __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&v);
    const float inv = inverse[t];
#pragma unroll
    for (int e = 0; e < kVector / 2; ++e) {
      const float2 p = __bfloat1622float2(h[e]);
      h[e] = __floats2bfloat162_rn(p.x * inv, p.y * inv);
    }
    *reinterpret_cast<uint4*>(x) = v;
  }
}

// D / 8 threads per (token, head) row, one 16-byte vector each, rows in memory order (b, t, h): dnum = dout / den,
// dden = -(dout . out) / den, the dot reduced over the row's lanes.
__global__ void output_gradient_kernel(const bf16* __restrict__ out, const float* __restrict__ den,
                                       const bf16* __restrict__ dout, bf16* __restrict__ dnum, float* __restrict__ dden,
                                       Grid g, int64_t rows) {
  const int lanes = g.D / kVector;  // a power of two dividing 32 (D is 64 or 128 here)
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / lanes;
  const int lane = threadIdx.x % lanes;
  const bool live = row < rows;  // dead lanes still join the shuffles
  const int64_t h = row % g.H, t = (row / g.H) % g.L, b = row / (static_cast<int64_t>(g.H) * g.L);
  const int64_t at = (b * g.H + h) * g.L + t, x = row * g.D + kVector * lane;
  float dot = 0.0f;
  if (live) {
    const float inv = 1.0f / den[at];
    const uint4 gd = load_vector(dout + x), o = load_vector(out + x);
    const __nv_bfloat162 *gp = reinterpret_cast<const __nv_bfloat162*>(&gd),
                         *op = reinterpret_cast<const __nv_bfloat162*>(&o);
    uint4 scaled;
    __nv_bfloat162* sp = reinterpret_cast<__nv_bfloat162*>(&scaled);
#pragma unroll
    for (int e = 0; e < kVector / 2; ++e) {
      const float2 a = __bfloat1622float2(gp[e]), c = __bfloat1622float2(op[e]);
      sp[e] = __floats2bfloat162_rn(a.x * inv, a.y * inv);
      dot += a.x * c.x + a.y * c.y;
    }
    *reinterpret_cast<uint4*>(dnum + x) = scaled;
    dot *= inv;
  }
  for (int offset = lanes / 2; offset > 0; offset >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
  if (live && lane == 0) dden[at] = -dot;
}

// One block per (head, chunk), 2 F threads as in chunk_sum_kernel: each run's totals of k and of dden_t q_t go to
// shared memory, F threads scan them across the runs (k forwards from key_prefix, dden q backwards from
// query_suffix), then each thread walks its own rows: z forwards into dq, sum_{t>=s} dden_t q_t backwards into dk.
__global__ void add_normaliser_gradient_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                               const float* __restrict__ dden, const float* __restrict__ key_prefix,
                                               const float* __restrict__ query_suffix, bf16* __restrict__ dq,
                                               bf16* __restrict__ dk, Grid g) {
  __shared__ __align__(16) float key_runs[kGroups][kMaxF], query_runs[kGroups][kMaxF];
  const RowSlot r = row_slot(g);
  uint4 kr[kGroupRows], qr[kGroupRows];
  float w[kGroupRows];
  int64_t at[kGroupRows];
#pragma unroll
  for (int i = 0; i < kGroupRows; ++i) {
    const int t = run_token(r, i, g);
    at[i] = t >= 0 ? row_offset(r.bh, t, g, g.F) + r.f : -1;
    kr[i] = t >= 0 ? load_vector(k + at[i]) : make_uint4(0, 0, 0, 0);
    qr[i] = t >= 0 ? load_vector(q + at[i]) : make_uint4(0, 0, 0, 0);
    w[i] = t >= 0 ? dden[static_cast<int64_t>(r.bh) * g.L + t] : 0.0f;
  }
  {
    float ks[kVector] = {}, qs[kVector] = {};
#pragma unroll
    for (int i = 0; i < kGroupRows; ++i) {
      add_vector(ks, kr[i], 1.0f);
      add_vector(qs, qr[i], w[i]);
    }
    store8(&key_runs[r.group][r.f], ks);
    store8(&query_runs[r.group][r.f], qs);
  }
  __syncthreads();
  // Exclusive scans over the runs, in place: threads 0 .. F - 1 the keys, F .. 2 F - 1 the queries (reversed).
  {
    const int f = threadIdx.x % g.F;
    const bool keys = threadIdx.x < g.F;
    float run = keys ? key_prefix[chunk_offset(r.bh, r.c, g) + f] : query_suffix[chunk_offset(r.bh, r.c, g) + f];
#pragma unroll
    for (int i = 0; i < kGroups; ++i) {
      float& x = keys ? key_runs[i][f] : query_runs[kGroups - 1 - i][f];
      const float own = x;
      x = run;
      run += own;
    }
  }
  __syncthreads();
  float z[kVector], u[kVector];
  load8(z, &key_runs[r.group][r.f]);
  load8(u, &query_runs[r.group][r.f]);
#pragma unroll
  for (int i = 0; i < kGroupRows; ++i) {  // dq_t += dden_t z_t, z_t including k_t
    if (at[i] < 0) continue;
    add_vector(z, kr[i], 1.0f);
    add_scaled_in_place(dq + at[i], z, w[i]);
  }
#pragma unroll
  for (int i = kGroupRows - 1; i >= 0; --i) {  // dk_s += sum_{t>=s} dden_t q_t
    add_vector(u, qr[i], w[i]);
    if (at[i] >= 0) add_scaled_in_place(dk + at[i], u, 1.0f);
  }
}

// sums <- chunk totals of w_t x_t, then scanned <- their exclusive scan (forwards or backwards in time).
void chunk_scan(const bf16* x, const float* weight, float* sums, float* scanned, float* total, bool reverse,
                const Grid& g, cudaStream_t stream) {
  chunk_sum_kernel<<<g.BH * g.NC, 2 * g.F, 0, stream>>>(x, weight, sums, g);
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
  normalise_output_kernel<<<g.BH * g.NC, 2 * g.F, 0, stream>>>(q, k, prefix, out, den, eps, g);
  cudaCheckLaunch();
}

void normaliser_output_gradient_cuda(const bf16* q, const bf16* k, const bf16* out, const float* den, const bf16* dout,
                                     bf16* dnum, float* dden, float* key_prefix, float* query_suffix, float* scratch,
                                     const LinearAttentionShape& s, cudaStream_t stream) {
  const Grid g = grid_of(s);
  if (nothing_to_do(g)) return;
  const int64_t rows = s.batch * s.seq_len * s.heads;
  constexpr int kThreads = 256;
  const int64_t threads = rows * (g.D / kVector);
  output_gradient_kernel<<<static_cast<unsigned>((threads + kThreads - 1) / kThreads), kThreads, 0, stream>>>(
      out, den, dout, dnum, dden, g, rows);
  cudaCheckLaunch();
  chunk_scan(k, nullptr, scratch, key_prefix, nullptr, false, g, stream);
  chunk_scan(q, dden, scratch, query_suffix, nullptr, true, g, stream);
}

void add_normaliser_gradient_cuda(const bf16* q, const bf16* k, const float* dden, const float* key_prefix,
                                  const float* query_suffix, bf16* dq, bf16* dk, const LinearAttentionShape& s,
                                  cudaStream_t stream) {
  const Grid g = grid_of(s);
  if (nothing_to_do(g)) return;
  add_normaliser_gradient_kernel<<<g.BH * g.NC, 2 * g.F, 0, stream>>>(q, k, dden, key_prefix, query_suffix, dq, dk, g);
  cudaCheckLaunch();
}

}  // namespace seqbench
