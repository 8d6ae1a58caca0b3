// Dense matrix products: C[M,N] (+)= op(A)[M,K] * op(B)[K,N], all row-major. The CPU kernel
// (register-blocked, matmul_cpu.cpp) is checked against a naive triple loop in tests/test_matmul.cpp;
// the CUDA kernel (cuBLAS, fp32 without TF32, matmul_cuda.cu) against it in tests/test_gpu_ops.cpp.
#pragma once

#include "ops/kernel_table.h"

namespace seqbench {

struct MatmulShape {
  int64_t m, n, k;
  bool trans_a = false;     // A stored as [K, M]
  bool trans_b = false;     // B stored as [N, K]
  bool accumulate = false;  // C += instead of C =
};

struct MatmulKernels : KernelFamily<MatmulKernels> {
  static constexpr const char* kFamily = "matmul";

  void (*matmul)(const float* a, const float* b, float* c, const MatmulShape& shape);
};

}  // namespace seqbench
