// AdamW on the GPU, one thread per element, the update of adamw_cpu.cpp; checked against it in
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

}  // namespace

void adamw_update_cuda(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWHyper& h) {
  if (n == 0) return;
  const float bc1 = 1.0f - std::pow(h.beta1, static_cast<float>(h.step));
  const float bc2 = 1.0f - std::pow(h.beta2, static_cast<float>(h.step));
  adamw_kernel<<<element_blocks(n), kElementThreads, 0, current_stream()>>>(param, grad, m, v, n, h, bc1, bc2);
  cudaCheckLaunch();
}

const AdamWKernels& AdamWKernels::cuda() {
  static const AdamWKernels kernels{adamw_update_cuda};
  return kernels;
}

}  // namespace seqbench
