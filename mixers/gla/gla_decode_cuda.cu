// One decode step of gated linear attention on the GPU: S = diag(e^g) S + k v^T, out = scale S^T q,
// one block per (batch, head) with q, k, the decay and v in shared memory; checked against
// gla_decode_cpu in test_gpu_gla.cpp.
#include <stdexcept>
#include <string>

#include "mixers/gla/gla.h"
#include "mixers/gla/gla_cuda_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {
namespace {

constexpr int64_t kDecodeSharedFloats = 48 * 1024 / sizeof(float);  // q, k, decay and v in shared memory

// One block per (batch, head): S = diag(e^g) S + k v^T, out = scale S^T q; a thread per value column.
__global__ void gla_decode_kernel(const float* q, const float* k, const float* v, const float* g, float* state,
                                  float* out, int K, int V, bool channel, float scale) {
  extern __shared__ float smem[];
  float* q_s = smem;
  float* k_s = q_s + K;
  float* decay_s = k_s + K;
  float* v_s = decay_s + K;
  const int64_t bh = blockIdx.x;
  for (int i = threadIdx.x; i < K; i += blockDim.x) {
    q_s[i] = q[bh * K + i];
    k_s[i] = k[bh * K + i];
    decay_s[i] = expf(g[bh * (channel ? K : 1) + (channel ? i : 0)]);
  }
  for (int j = threadIdx.x; j < V; j += blockDim.x) v_s[j] = v[bh * V + j];
  __syncthreads();
  float* S = state + bh * K * V;
  for (int j = threadIdx.x; j < V; j += blockDim.x) {
    float acc = 0.0f;
    for (int i = 0; i < K; ++i) {
      const float s = decay_s[i] * S[static_cast<int64_t>(i) * V + j] + k_s[i] * v_s[j];
      S[static_cast<int64_t>(i) * V + j] = s;
      acc += q_s[i] * s;
    }
    out[bh * V + j] = scale * acc;
  }
}

}  // namespace

std::string gla_decode_limits(const GlaShape& s) {
  if (3 * s.key_dim + s.value_dim > kDecodeSharedFloats)
    return "3 * key_dim + value_dim must be <= " + std::to_string(kDecodeSharedFloats) +
           " for decode on the GPU, got " + std::to_string(3 * s.key_dim + s.value_dim);
  if (s.batch * s.heads > int64_t{0x7fffffff})
    return "batch * heads must be < 2^31, got " + std::to_string(s.batch * s.heads);
  return {};
}

void gla_decode_cuda(const float* q_t, const float* k_t, const float* v_t, const float* log_decay_t, float* state,
                     float* out_t, const GlaShape& s, const GlaOptions& o) {
  const cudaStream_t stream = current_stream();
  check_gla_shape(s, "gla_decode_cuda", false);
  const std::string limit = gla_decode_limits(s);
  if (!limit.empty()) throw std::invalid_argument("gla_decode_cuda: " + limit);
  const size_t smem = static_cast<size_t>(3 * s.key_dim + s.value_dim) * sizeof(float);
  if (s.batch == 0) return;
  gla_decode_kernel<<<static_cast<unsigned>(s.batch * s.heads), 128, smem, stream>>>(
      q_t, k_t, v_t, log_decay_t, state, out_t, static_cast<int>(s.key_dim), static_cast<int>(s.value_dim),
      s.channel_decay, o.scale);
  cudaCheckLaunch();
}

}  // namespace seqbench
