// Dense matrix products: C[M,N] (+)= op(A)[M,K] * op(B)[K,N], all row-major. The CPU kernel
// (register-blocked, matmul_cpu.cpp) is checked against a naive triple loop in tests/test_matmul.cpp;
// the CUDA kernel (cuBLAS, fp32 without TF32, matmul_cuda.cu) against it in tests/test_gpu_ops.cpp.
// Mixed precision (bf16 training) uses the second pair: operands rounded to bf16, products summed
// and stored in fp32, as tensor cores and torch.autocast do; the CPU pair is its reference.
#pragma once
#include <cstdint>

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
  // dst = bf16(src), round to nearest even (NaN stays NaN); bf16 values as their 16-bit patterns.
  void (*round_to_bf16)(const float* src, uint16_t* dst, int64_t n);
  // C (fp32) (+)= op(A) op(B) for bf16 A and B, fp32 accumulation.
  void (*matmul_bf16_operands)(const uint16_t* a, const uint16_t* b, float* c, const MatmulShape& shape);
};

}  // namespace seqbench
