// GELU (tanh form) forward and its exact derivative on the GPU, one thread per element; checked
// against the CPU kernels in tests/test_gpu_ops.cpp.
#include "ops/activations.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/launch_grid.cuh"

namespace seqbench {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;

__global__ void gelu_fwd_kernel(const float* x, float* y, int64_t n) {
  for (int64_t i = first_element(); i < n; i += element_stride()) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + tanhf(kSqrt2OverPi * (v + kCubic * v * v * v)));
  }
}

__global__ void gelu_bwd_kernel(const float* x, const float* dy, float* dx, int64_t n) {
  for (int64_t i = first_element(); i < n; i += element_stride()) {
    const float v = x[i];
    const float t = tanhf(kSqrt2OverPi * (v + kCubic * v * v * v));
    const float grad = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kCubic * v * v);
    dx[i] = grad * dy[i];
  }
}

}  // namespace

void gelu_fwd_cuda(const float* x, float* y, int64_t n) {
  if (n == 0) return;
  gelu_fwd_kernel<<<element_blocks(n), kElementThreads, 0, current_stream()>>>(x, y, n);
  cudaCheckLaunch();
}

void gelu_bwd_cuda(const float* x, const float* dy, float* dx, int64_t n) {
  if (n == 0) return;
  gelu_bwd_kernel<<<element_blocks(n), kElementThreads, 0, current_stream()>>>(x, dy, dx, n);
  cudaCheckLaunch();
}

template <>
GeluKernels cuda_kernel_table<GeluKernels>{{}, gelu_fwd_cuda, gelu_bwd_cuda};

}  // namespace seqbench
