#include "ops/causal_conv1d_ops.h"

#include "ops/device_dispatch.h"
#ifdef SEQBENCH_WITH_CUDA
#include "ops/causal_conv1d_cuda.cuh"
#endif

namespace seqbench {

void causal_conv1d_fwd(Device device, const float* in, int64_t in_stride, const float* w, const float* bias, float* out,
                       const Conv1dShape& shape) {
  if (device == Device::cpu) return causal_conv1d_fwd_cpu(in, in_stride, w, bias, out, shape);
  SEQBENCH_ON_CUDA("causal_conv1d_fwd", causal_conv1d_fwd_cuda(in, in_stride, w, bias, out, shape));
}

void causal_conv1d_bwd(Device device, const float* in, int64_t in_stride, const float* w, const float* dout, float* din,
                       int64_t din_stride, float* dw, float* dbias, const Conv1dShape& shape) {
  if (device == Device::cpu) return causal_conv1d_bwd_cpu(in, in_stride, w, dout, din, din_stride, dw, dbias, shape);
  SEQBENCH_ON_CUDA("causal_conv1d_bwd",
                   causal_conv1d_bwd_cuda(in, in_stride, w, dout, din, din_stride, dw, dbias, shape));
}

void causal_conv1d_final_state(Device device, const float* in, int64_t in_stride, float* state,
                               const Conv1dShape& shape) {
  if (device == Device::cpu) return causal_conv1d_final_state(in, in_stride, state, shape);
  SEQBENCH_ON_CUDA("causal_conv1d_final_state", causal_conv1d_final_state_cuda(in, in_stride, state, shape));
}

void causal_conv1d_decode(Device device, const float* in_t, int64_t in_stride, const float* w, const float* bias,
                          float* state, float* out_t, const Conv1dShape& shape) {
  if (device == Device::cpu) return causal_conv1d_decode_cpu(in_t, in_stride, w, bias, state, out_t, shape);
  SEQBENCH_ON_CUDA("causal_conv1d_decode", causal_conv1d_decode_cuda(in_t, in_stride, w, bias, state, out_t, shape));
}

}  // namespace seqbench
