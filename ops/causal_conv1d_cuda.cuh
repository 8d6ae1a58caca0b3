// Causal depthwise 1-D convolution on the GPU (device pointers, fp32): same strided layouts, tap-major weights
// and decode state as causal_conv1d_cpu.h; checked against its kernels in tests/test_gpu_elementwise.cpp.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "ops/causal_conv1d_cpu.h"

namespace seqbench {

void causal_conv1d_fwd_cuda(const float* in, int64_t in_stride, const float* w, const float* bias, float* out,
                            const Conv1dShape& shape, cudaStream_t stream = nullptr);
// din (rows din_stride apart) overwritten; dw [K, C] and dbias [C] accumulated, summed over batch * time in a
// fixed order (deterministic, no atomics). Allocates a workspace of about min(rows / 64, 1024) * (K + 1) * C
// floats for the call and waits for the stream before freeing it.
void causal_conv1d_bwd_cuda(const float* in, int64_t in_stride, const float* w, const float* dout, float* din,
                            int64_t din_stride, float* dw, float* dbias, const Conv1dShape& shape,
                            cudaStream_t stream = nullptr);
// state: [batch, K-1, channels], the last K-1 inputs oldest first, zeros before t = 0.
void causal_conv1d_final_state_cuda(const float* in, int64_t in_stride, float* state, const Conv1dShape& shape,
                                    cudaStream_t stream = nullptr);
// One token per sequence; the state shifts by one and takes in_t.
void causal_conv1d_decode_cuda(const float* in_t, int64_t in_stride, const float* w, const float* bias, float* state,
                               float* out_t, const Conv1dShape& shape, cudaStream_t stream = nullptr);

}  // namespace seqbench
