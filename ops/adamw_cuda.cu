// AdamW on the GPU, one thread per element, the update of adamw_cpu.cpp, alone or as a fused step
// over every parameter tensor (three launches, no host wait); checked against the CPU in
// tests/test_gpu_ops.cpp.
#include <cmath>

#include "ops/adamw.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/launch_grid.cuh"

namespace seqbench {
namespace {

__global__ void adamw_kernel(float* param, const float* grad, float* m, float* v, int64_t n, AdamWHyper h, float bc1,
                             float bc2) {
  for (int64_t i = first_element(); i < n; i += element_stride()) {
    const float g = grad[i];
    m[i] = h.beta1 * m[i] + (1.0f - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1.0f - h.beta2) * g * g;
    const float m_hat = m[i] / bc1, v_hat = v[i] / bc2;
    param[i] -= h.lr * (m_hat / (sqrtf(v_hat) + h.eps) + h.weight_decay * param[i]);
  }
}

constexpr int kStepThreads = 256;

// Sum of the block's per-thread values in double: the threads' values in shared memory, thread 0
// adds them in order (a fixed order: deterministic). Valid in thread 0 only.
__device__ double block_sum_in_order(double value) {
  __shared__ double partial[kStepThreads];
  partial[threadIdx.x] = value;
  __syncthreads();
  double total = 0.0;
  if (threadIdx.x == 0)
    for (int t = 0; t < kStepThreads; ++t) total += partial[t];
  return total;
}

// Block c: the sum of squares of chunk c's gradient elements.
__global__ void chunk_grad_squares_kernel(AdamWSlots group) {
  const AdamWChunk chunk = group.chunks[blockIdx.x];
  const float* grad = group.slots[chunk.slot].grad;
  double sum = 0.0;
  for (int64_t i = chunk.begin + threadIdx.x; i < chunk.end; i += kStepThreads)
    sum += static_cast<double>(grad[i]) * grad[i];
  const double total = block_sum_in_order(sum);
  if (threadIdx.x == 0) group.chunk_sums[blockIdx.x] = total;
}

// One block: the chunks' sums, each thread a fixed stride of them, then in thread order.
__global__ void add_chunk_sums_kernel(AdamWSlots group) {
  double sum = 0.0;
  for (int64_t c = threadIdx.x; c < group.chunk_count; c += kStepThreads) sum += group.chunk_sums[c];
  const double total = block_sum_in_order(sum);
  if (threadIdx.x == 0) *group.grad_sum_of_squares = total;
}

// Block c: clip (the scale read from the global norm), update and zero chunk c's elements.
__global__ void clipped_update_kernel(AdamWSlots group, double max_norm, AdamWHyper h, float bc1, float bc2) {
  const AdamWChunk chunk = group.chunks[blockIdx.x];
  const AdamWSlot slot = group.slots[chunk.slot];
  const double norm = sqrt(*group.grad_sum_of_squares);
  const bool clip = max_norm > 0 && norm > max_norm;
  const float scale = clip ? static_cast<float>(max_norm / norm) : 1.0f;
  for (int64_t i = chunk.begin + threadIdx.x; i < chunk.end; i += kStepThreads) {
    const float g = clip ? slot.grad[i] * scale : slot.grad[i];
    slot.m[i] = h.beta1 * slot.m[i] + (1.0f - h.beta1) * g;
    slot.v[i] = h.beta2 * slot.v[i] + (1.0f - h.beta2) * g * g;
    const float m_hat = slot.m[i] / bc1, v_hat = slot.v[i] / bc2;
    slot.param[i] -= h.lr * (m_hat / (sqrtf(v_hat) + h.eps) + slot.weight_decay * slot.param[i]);
    slot.grad[i] = 0.0f;
  }
}

}  // namespace

void adamw_clipped_step_cuda(const AdamWSlots& group, double max_norm, const AdamWHyper& h) {
  const cudaStream_t stream = current_stream();
  const unsigned chunks = static_cast<unsigned>(group.chunk_count);
  if (chunks > 0) {
    chunk_grad_squares_kernel<<<chunks, kStepThreads, 0, stream>>>(group);
    cudaCheckLaunch();
  }
  add_chunk_sums_kernel<<<1, kStepThreads, 0, stream>>>(group);
  cudaCheckLaunch();
  if (chunks == 0) return;
  const float bc1 = 1.0f - std::pow(h.beta1, static_cast<float>(h.step));
  const float bc2 = 1.0f - std::pow(h.beta2, static_cast<float>(h.step));
  clipped_update_kernel<<<chunks, kStepThreads, 0, stream>>>(group, max_norm, h, bc1, bc2);
  cudaCheckLaunch();
}

void adamw_update_cuda(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWHyper& h) {
  if (n == 0) return;
  const float bc1 = 1.0f - std::pow(h.beta1, static_cast<float>(h.step));
  const float bc2 = 1.0f - std::pow(h.beta2, static_cast<float>(h.step));
  adamw_kernel<<<element_blocks(n), kElementThreads, 0, current_stream()>>>(param, grad, m, v, n, h, bc1, bc2);
  cudaCheckLaunch();
}

template <>
AdamWKernels cuda_kernel_table<AdamWKernels>{{}, adamw_update_cuda, adamw_clipped_step_cuda};

}  // namespace seqbench
