// GLA's log-space decay on the GPU (device pointers, fp32): g = log_sigmoid(z) / tau and dz = dg sigmoid(-z) / tau,
// as log_sigmoid_decay.h; checked against log_sigmoid_decay_{fwd,bwd}_cpu in tests/test_gpu_elementwise.cpp.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace seqbench {

void log_sigmoid_decay_fwd_cuda(const float* z, float* log_decay, int64_t n, float tau, cudaStream_t stream = nullptr);
// dz overwritten.
void log_sigmoid_decay_bwd_cuda(const float* z, const float* dlog_decay, float* dz, int64_t n, float tau,
                                cudaStream_t stream = nullptr);

}  // namespace seqbench
