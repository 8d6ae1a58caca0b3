// SiLU and the swish output gate on the GPU (device pointers, fp32): silu(r) = r sigmoid(r), out = a * silu(gate)
// with strided gate rows, as swish_gate.h; checked against the _cpu kernels in tests/test_gpu_elementwise.cpp.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace seqbench {

void silu_fwd_cuda(const float* x, float* y, int64_t n, cudaStream_t stream = nullptr);
void silu_bwd_cuda(const float* x, const float* dy, float* dx, int64_t n, cudaStream_t stream = nullptr);

// out[r, :] = a[r, :] * silu(gate[r, :]); gate rows gate_stride apart, a/out rows contiguous.
void swish_gate_fwd_cuda(const float* a, const float* gate, float* out, int64_t rows, int64_t width,
                         int64_t gate_stride, cudaStream_t stream = nullptr);
// da and dgate (rows dgate_stride apart) overwritten.
void swish_gate_bwd_cuda(const float* a, const float* gate, const float* dout, float* da, float* dgate, int64_t rows,
                         int64_t width, int64_t gate_stride, int64_t dgate_stride, cudaStream_t stream = nullptr);

}  // namespace seqbench
