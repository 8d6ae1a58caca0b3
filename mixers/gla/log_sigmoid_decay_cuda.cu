// g = (min(z, 0) - log1p(e^{-|z|})) / tau (overflow-free log_sigmoid), dz = dg / tau / (1 + e^z);
// checked against log_sigmoid_decay_{fwd,bwd}_cpu in test_gpu_gla.cpp.
#include <stdexcept>
#include <string>

#include "mixers/gla/log_sigmoid_decay.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/launch_grid.cuh"

namespace seqbench {
namespace {

// The CPU evaluates e^x and log1p with its own vector polynomials (simd_math.h); expf and log1pf
// here agree with them to a few float ulps, not bit for bit.
__global__ void log_sigmoid_decay_fwd_kernel(const float* z, float* log_decay, int64_t n, float inv_tau) {
  for (int64_t i = first_element(); i < n; i += element_stride())
    log_decay[i] = (fminf(z[i], 0.0f) - log1pf(expf(-fabsf(z[i])))) * inv_tau;
}

__global__ void log_sigmoid_decay_bwd_kernel(const float* z, const float* dlog_decay, float* dz, int64_t n,
                                             float inv_tau) {
  for (int64_t i = first_element(); i < n; i += element_stride()) dz[i] = dlog_decay[i] * inv_tau / (1.0f + expf(z[i]));
}

void check_count(int64_t n, const char* who) {
  if (n < 0) throw std::invalid_argument(std::string(who) + ": n must be >= 0, got " + std::to_string(n));
}

}  // namespace

void log_sigmoid_decay_fwd_cuda(const float* z, float* log_decay, int64_t n, float tau) {
  const cudaStream_t stream = current_stream();
  check_count(n, "log_sigmoid_decay_fwd_cuda");
  if (n == 0) return;
  log_sigmoid_decay_fwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(z, log_decay, n, 1.0f / tau);
  cudaCheckLaunch();
}

void log_sigmoid_decay_bwd_cuda(const float* z, const float* dlog_decay, float* dz, int64_t n, float tau) {
  const cudaStream_t stream = current_stream();
  check_count(n, "log_sigmoid_decay_bwd_cuda");
  if (n == 0) return;
  log_sigmoid_decay_bwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(z, dlog_decay, dz, n, 1.0f / tau);
  cudaCheckLaunch();
}

template <>
LogSigmoidDecayKernels cuda_kernel_table<LogSigmoidDecayKernels>{
    {}, log_sigmoid_decay_fwd_cuda, log_sigmoid_decay_bwd_cuda};

}  // namespace seqbench
