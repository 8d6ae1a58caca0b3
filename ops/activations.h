// GELU, tanh approximation (GPT-2 / llm.c gelu_forward): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// Backward is its exact derivative; checked by finite differences in
// tests/test_model_gradients.cpp; the CUDA kernels against the CPU ones in tests/test_gpu_ops.cpp.
#pragma once
#include <cstdint>

#include "ops/kernel_table.h"

namespace seqbench {

void gelu_fwd_cpu(const float* x, float* y, int64_t n);
void gelu_bwd_cpu(const float* x, const float* dy, float* dx, int64_t n);  // dx overwritten


struct GeluKernels {
  static constexpr const char* kFamily = "gelu";
  static const GeluKernels& cpu();
  static const GeluKernels& cuda();

  decltype(&gelu_fwd_cpu) fwd;
  decltype(&gelu_bwd_cpu) bwd;
};

}  // namespace seqbench
