// LayerNorm over the last dimension: y = (x - mean) * rstd * gamma + beta, rstd = 1/sqrt(var + eps).
// Backward is the standard closed form (llm.c layernorm_backward). The CPU kernels are checked by finite
// differences (tests/test_model_gradients.cpp), the CUDA kernels against them (tests/test_gpu_ops.cpp).
#pragma once

#include "ops/kernel_table.h"

namespace seqbench {

// cuda(): the parameter gradients are column sums in a fixed order (deterministic).

struct LayerNormKernels : KernelFamily<LayerNormKernels> {
  static constexpr const char* kFamily = "layer_norm";

  void (*fwd)(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd, int64_t rows,
              int64_t dim, float eps);
  // dx is overwritten; dgamma and dbeta are accumulated.
  void (*bwd)(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd, float* dx,
              float* dgamma, float* dbeta, int64_t rows, int64_t dim);
};

}  // namespace seqbench
