// Attention mass per key on the GPU (attention_mass.h): a log-sum-exp per query row (one warp each,
// two passes over the row's keys: max, then the sum of exponentials), then one thread per key
// summing its probabilities over the rows in ascending order. No float atomics. Checked against
// attention_mass_cpu in tests/test_gpu_kv_policies.cpp.
#include <cmath>
#include <string>

#include "mixers/softmax/kv_policies/attention_mass.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/scratch_buffer.cuh"
#include "ops/cuda/warp_reduce.cuh"

namespace seqbench {
namespace {

constexpr int kMaxHeadDim = 256;
constexpr int kLseWarps = 4;
constexpr int kMassThreads = 128;

struct MassLayout {
  int64_t rows, used, slots, heads, head_dim, pairs;
  float scale;
};

__device__ __forceinline__ float row_dot(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t d = 0; d < n; ++d) s += a[d] * b[d];
  return s;
}

__device__ __forceinline__ const float* query_row(const float* q, const MassLayout& m, int64_t bh, int64_t r) {
  const int64_t b = bh / m.heads, h = bh % m.heads;
  return q + ((b * m.rows + r) * m.heads + h) * m.head_dim;
}

__device__ __forceinline__ const float* key_row(const float* keys, const MassLayout& m, int64_t bh, int64_t j) {
  const int64_t b = bh / m.heads, h = bh % m.heads;
  return keys + ((b * m.slots + j) * m.heads + h) * m.head_dim;
}

// lse[bh * rows + r]: lanes take keys j = lane, lane + 32, ...; max first, then the sum.
__global__ void row_lse_kernel(const float* __restrict__ q, const int32_t* __restrict__ limits,
                               const float* __restrict__ keys, MassLayout m, float* __restrict__ lse) {
  const int64_t x = static_cast<int64_t>(blockIdx.x) * kLseWarps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (x >= m.pairs * m.rows) return;  // whole warps
  const int64_t bh = x / m.rows, r = x % m.rows, last = limits[r];
  const float* qr = query_row(q, m, bh, r);
  float max_score = -INFINITY;
  for (int64_t j = lane; j <= last; j += 32)
    max_score = fmaxf(max_score, row_dot(qr, key_row(keys, m, bh, j), m.head_dim) * m.scale);
  max_score = warp_max(max_score);
  float sum = 0.0f;
  for (int64_t j = lane; j <= last; j += 32)
    sum += expf(row_dot(qr, key_row(keys, m, bh, j), m.head_dim) * m.scale - max_score);
  sum = warp_sum(sum);
  if (lane == 0) lse[x] = max_score + logf(sum);
}

__global__ void key_mass_kernel(const float* __restrict__ q, const int32_t* __restrict__ limits,
                                const float* __restrict__ keys, const float* __restrict__ lse, MassLayout m,
                                float* __restrict__ mass) {
  const int64_t x = static_cast<int64_t>(blockIdx.x) * kMassThreads + threadIdx.x;
  if (x >= m.pairs * m.used) return;
  const int64_t bh = x / m.used, j = x % m.used;
  const float* kj = key_row(keys, m, bh, j);
  float total = 0.0f;
  for (int64_t r = 0; r < m.rows; ++r)
    if (j <= limits[r]) total += expf(row_dot(query_row(q, m, bh, r), kj, m.head_dim) * m.scale - lse[bh * m.rows + r]);
  mass[x] = total;
}

void attention_mass_cuda(const float* q, int64_t rows, const int32_t* limits, const float* keys, int64_t used,
                         float* mass, const AttentionShape& cache) {
  const MassLayout m{rows,
                     used,
                     cache.seq_len,
                     cache.heads,
                     cache.head_dim,
                     cache.batch * cache.heads,
                     1.0f / std::sqrt(static_cast<float>(cache.head_dim))};
  if (m.pairs * used == 0) return;
  cudaStream_t stream = current_stream();
  ScratchFloats lse_rows(nullptr, m.pairs * rows, stream);  // accounted, freed once the stream is done
  float* lse = lse_rows.data();
  if (rows > 0) {
    const int64_t warps = m.pairs * rows;
    row_lse_kernel<<<static_cast<unsigned>((warps + kLseWarps - 1) / kLseWarps), kLseWarps * 32, 0, stream>>>(
        q, limits, keys, m, lse);
    cudaCheckLaunch();
  }
  const int64_t threads = m.pairs * used;
  key_mass_kernel<<<static_cast<unsigned>((threads + kMassThreads - 1) / kMassThreads), kMassThreads, 0, stream>>>(
      q, limits, keys, lse, m, mass);
  cudaCheckLaunch();
}

std::string attention_mass_cuda_limits(const AttentionShape& s) {
  if (s.head_dim > kMaxHeadDim)
    return "head_dim must be <= " + std::to_string(kMaxHeadDim) + " on the GPU, got " + std::to_string(s.head_dim);
  return {};
}

}  // namespace

template <>
AttentionMassKernels cuda_kernel_table<AttentionMassKernels>{{}, attention_mass_cuda, attention_mass_cuda_limits};

}  // namespace seqbench
