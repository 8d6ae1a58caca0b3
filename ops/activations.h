// GELU, tanh approximation (GPT-2 / llm.c gelu_forward): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// Backward is its exact derivative; checked by finite differences in
// tests/test_model_gradients.cpp; the CUDA kernels against the CPU ones in tests/test_gpu_ops.cpp.
#pragma once

#include "ops/kernel_table.h"

namespace seqbench {

struct GeluKernels : KernelFamily<GeluKernels> {
  static constexpr const char* kFamily = "gelu";

  void (*fwd)(const float* x, float* y, int64_t n);
  void (*bwd)(const float* x, const float* dy, float* dx, int64_t n);  // dx overwritten
};

}  // namespace seqbench
