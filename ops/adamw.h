// AdamW (Loshchilov & Hutter 2019): decoupled weight decay, bias-corrected moments.
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr (m_hat / (sqrt(v_hat) + eps) + wd p)
// Checked against a scalar transcription of the PyTorch update in tests/test_model_gradients.cpp;
// the CUDA kernel against the CPU one in tests/test_gpu_ops.cpp.
#pragma once
#include <cstdint>

#include "ops/kernel_table.h"

namespace seqbench {

struct AdamWHyper {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  int64_t step = 1;  // 1-based, for bias correction
};

struct AdamWKernels {
  static constexpr const char* kFamily = "adamw";
  static const AdamWKernels& cpu();   // the CPU reference kernels (adamw_cpu.cpp)
  static const AdamWKernels& cuda();  // the CUDA kernels, device pointers (CUDA builds only)

  void (*update)(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWHyper& h);
};

}  // namespace seqbench
