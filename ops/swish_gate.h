// SiLU / swish, silu(r) = r sigmoid(r) (Ramachandran et al. 2017), alone and as the output gate
// out = a * silu(r) of GLA (Yang et al. 2023, eq. 5) and Mamba-2 (y * silu(z)). Backward is the exact
// derivative silu'(r) = sigmoid(r) (1 + r (1 - sigmoid(r))). The CPU kernels are checked by finite
// differences in mixers/gla/test_gla.cpp, the CUDA kernels against them in tests/test_gpu_ops.cpp.
#pragma once

#include "ops/kernel_table.h"

namespace seqbench {

struct SwishGateKernels : KernelFamily<SwishGateKernels> {
  static constexpr const char* kFamily = "swish_gate";

  // out[r, :] = a[r, :] * silu(gate[r, :]) over `rows` rows of `width`; gate rows are gate_stride
  // apart (so the gate can be a column block of a wider projection), a/out rows are contiguous.
  void (*fwd)(const float* a, const float* gate, float* out, int64_t rows, int64_t width, int64_t gate_stride);
  // da and dgate (rows dgate_stride apart) are overwritten.
  void (*bwd)(const float* a, const float* gate, const float* dout, float* da, float* dgate, int64_t rows,
              int64_t width, int64_t gate_stride, int64_t dgate_stride);
  // silu alone, elementwise.
  void (*silu_fwd)(const float* x, float* y, int64_t n);
  void (*silu_bwd)(const float* x, const float* dy, float* dx, int64_t n);  // dx overwritten
};

}  // namespace seqbench
