// Dense matrix products on the CPU: C[M,N] (+)= op(A)[M,K] * op(B)[K,N], all row-major.
// Checked against a naive triple loop in tests/test_matmul.cpp.
#pragma once
#include <cstdint>

namespace seqbench {

struct MatmulShape {
  int64_t m, n, k;
  bool trans_a = false;  // A stored as [K, M]
  bool trans_b = false;  // B stored as [N, K]
  bool accumulate = false;  // C += instead of C =
};

void matmul_cpu(const float* a, const float* b, float* c, const MatmulShape& shape);

}  // namespace seqbench
