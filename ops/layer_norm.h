// LayerNorm over the last dimension: y = (x - mean) * rstd * gamma + beta, rstd = 1/sqrt(var + eps).
// Backward is the standard closed form (llm.c layernorm_backward); checked by finite differences.
#pragma once
#include <cstdint>

namespace seqbench {

void layer_norm_fwd_cpu(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                        float* rstd, int64_t rows, int64_t dim, float eps);
// dx is overwritten; dgamma and dbeta are accumulated.
void layer_norm_bwd_cpu(const float* dy, const float* x, const float* gamma, const float* mean,
                        const float* rstd, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t dim);

}  // namespace seqbench
