// The causal depthwise conv on either device: each op(Device, ...) runs the CPU kernel of causal_conv1d_cpu.h or,
// in CUDA builds, its _cuda twin (causal_conv1d_cuda.cuh) on device pointers.
#pragma once
#include <cstdint>

#include "ops/causal_conv1d_cpu.h"
#include "ops/tensor.h"

namespace seqbench {

void causal_conv1d_fwd(Device device, const float* in, int64_t in_stride, const float* w, const float* bias, float* out,
                       const Conv1dShape& shape);
// din overwritten; dw and dbias accumulated.
void causal_conv1d_bwd(Device device, const float* in, int64_t in_stride, const float* w, const float* dout, float* din,
                       int64_t din_stride, float* dw, float* dbias, const Conv1dShape& shape);
void causal_conv1d_final_state(Device device, const float* in, int64_t in_stride, float* state,
                               const Conv1dShape& shape);
void causal_conv1d_decode(Device device, const float* in_t, int64_t in_stride, const float* w, const float* bias,
                          float* state, float* out_t, const Conv1dShape& shape);

}  // namespace seqbench
