// Mamba-2's SSD scan on the GPU, same math, layouts and arguments as ssd_cpu.h (every pointer of
// SsdInputs and SsdGrads, y, dy and the states on the device, fp32): small kernels build the scan
// inputs (q = C, k = dt B, v = x, log decay = dt A) and fold the results back, around gla_*_cuda.
// Checked against ssd_*_cpu in tests/test_gpu_gla_ssd.cpp.
//
// The workspace's tensors are (re)allocated on Device::cuda; pass the same workspace to the matching
// ssd_fwd_cuda and ssd_bwd_cuda (ssd_bwd_cuda throws std::invalid_argument when it holds no GPU
// forward of this shape). Limits are gla_cuda.cuh's with key_dim = state_dim (<= 256) and
// value_dim = head_dim. Deterministic: the parameter gradients are summed in a fixed order.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mixers/ssm/ssd_cpu.h"

namespace seqbench {

void ssd_fwd_cuda(const SsdInputs& in, float* y, float* final_state, SsdWorkspace& ws, const SsdShape& shape,
                  int64_t chunk_size, cudaStream_t stream = nullptr);
void ssd_bwd_cuda(const SsdInputs& in, const float* dy, const SsdGrads& grads, SsdWorkspace& ws, const SsdShape& shape,
                  int64_t chunk_size, cudaStream_t stream = nullptr);
void ssd_decode_cuda(const SsdInputs& in_t, float* state, float* y_t, SsdWorkspace& ws, const SsdShape& shape,
                     cudaStream_t stream = nullptr);

}  // namespace seqbench
