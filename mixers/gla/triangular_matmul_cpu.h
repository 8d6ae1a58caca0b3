// The causal products inside a chunk, register-blocked like ops/matmul_cpu.cpp (4 rows x 16 columns
// in eight 8-wide accumulators): scores S = alpha A B^T kept on and below the diagonal, and
// C += L B or C += L^T B for a lower-triangular L (outputs and dq from scores; dk and dv from the
// transposed scores). Checked against plain loops in test_gla.cpp.
#pragma once
#include <cstdint>
#include <vector>

namespace seqbench {

// L B: row i sums k <= i; L^T B: row i sums k >= i.
enum class TriangularSide { lower, lower_transposed };

// c[i, :width] += sum_k op(L)[i, k] b[k, :width] for i < n, L [n, n] at l[i * ldl + k] with exact
// zeros above its diagonal (as lower_scores_cpu leaves it). B rows ldb apart, C rows ldc apart.
// `scratch` is resized as needed.
void triangular_matmul_acc_cpu(const float* l, int64_t ldl, TriangularSide side, const float* b, int64_t ldb,
                               float* c, int64_t ldc, int64_t n, int64_t width, std::vector<float>& scratch);

// s[i * lds + j] = alpha sum_{k < depth} a[i * lda + k] bt[k * ldbt + j] for j <= i < n, and 0 for
// i < j < n (bt is B transposed: depth rows of n).
void lower_scores_cpu(const float* a, int64_t lda, const float* bt, int64_t ldbt, float alpha, float* s, int64_t lds,
                      int64_t n, int64_t depth, std::vector<float>& scratch);

}  // namespace seqbench
