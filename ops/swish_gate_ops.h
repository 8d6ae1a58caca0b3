// SiLU and the swish gate on either device: each op(Device, ...) runs the CPU kernel of swish_gate.h or, in
// CUDA builds, its _cuda twin (swish_gate_cuda.cuh) on device pointers.
#pragma once
#include <cstdint>

#include "ops/swish_gate.h"
#include "ops/tensor.h"

namespace seqbench {

void silu_fwd(Device device, const float* x, float* y, int64_t n);
void silu_bwd(Device device, const float* x, const float* dy, float* dx, int64_t n);
void swish_gate_fwd(Device device, const float* a, const float* gate, float* out, int64_t rows, int64_t width,
                    int64_t gate_stride);
void swish_gate_bwd(Device device, const float* a, const float* gate, const float* dout, float* da, float* dgate,
                    int64_t rows, int64_t width, int64_t gate_stride, int64_t dgate_stride);

}  // namespace seqbench
