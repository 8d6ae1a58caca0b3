// LayerNorm over the last dimension: y = (x - mean) * rstd * gamma + beta, rstd = 1/sqrt(var + eps).
// Backward is the standard closed form (llm.c layernorm_backward). The CPU kernels are checked by finite
// differences (tests/test_model_gradients.cpp), the CUDA kernels against them (tests/test_gpu_ops.cpp).
#pragma once
#include <cstdint>

#include "ops/kernel_table.h"

namespace seqbench {

void layer_norm_fwd_cpu(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                        float* rstd, int64_t rows, int64_t dim, float eps);
// dx is overwritten; dgamma and dbeta are accumulated.
void layer_norm_bwd_cpu(const float* dy, const float* x, const float* gamma, const float* mean,
                        const float* rstd, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t dim);

// dx overwritten; dgamma and dbeta accumulated (column sums in a fixed order: deterministic).

struct LayerNormKernels {
  static constexpr const char* kFamily = "layer_norm";
  static const LayerNormKernels& cpu();
  static const LayerNormKernels& cuda();

  decltype(&layer_norm_fwd_cpu) fwd;
  decltype(&layer_norm_bwd_cpu) bwd;
};

}  // namespace seqbench
