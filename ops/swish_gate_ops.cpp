#include "ops/swish_gate_ops.h"

#include "ops/device_dispatch.h"
#ifdef SEQBENCH_WITH_CUDA
#include "ops/swish_gate_cuda.cuh"
#endif

namespace seqbench {

void silu_fwd(Device device, const float* x, float* y, int64_t n) {
  if (device == Device::cpu) return silu_fwd_cpu(x, y, n);
  SEQBENCH_ON_CUDA("silu_fwd", silu_fwd_cuda(x, y, n));
}

void silu_bwd(Device device, const float* x, const float* dy, float* dx, int64_t n) {
  if (device == Device::cpu) return silu_bwd_cpu(x, dy, dx, n);
  SEQBENCH_ON_CUDA("silu_bwd", silu_bwd_cuda(x, dy, dx, n));
}

void swish_gate_fwd(Device device, const float* a, const float* gate, float* out, int64_t rows, int64_t width,
                    int64_t gate_stride) {
  if (device == Device::cpu) return swish_gate_fwd_cpu(a, gate, out, rows, width, gate_stride);
  SEQBENCH_ON_CUDA("swish_gate_fwd", swish_gate_fwd_cuda(a, gate, out, rows, width, gate_stride));
}

void swish_gate_bwd(Device device, const float* a, const float* gate, const float* dout, float* da, float* dgate,
                    int64_t rows, int64_t width, int64_t gate_stride, int64_t dgate_stride) {
  if (device == Device::cpu)
    return swish_gate_bwd_cpu(a, gate, dout, da, dgate, rows, width, gate_stride, dgate_stride);
  SEQBENCH_ON_CUDA("swish_gate_bwd",
                   swish_gate_bwd_cuda(a, gate, dout, da, dgate, rows, width, gate_stride, dgate_stride));
}

}  // namespace seqbench
