// Softmax cross-entropy over rows of logits: loss = mean_r (logsumexp(z_r) - z_r[target_r]);
// dlogits = (softmax(z_r) - onehot(target_r)) / rows. Checked by finite differences.
#pragma once
#include <cstdint>

namespace seqbench {

// Returns the mean loss; writes dlogits (may alias nothing) when non-null.
double cross_entropy_cpu(const float* logits, const int32_t* targets, float* dlogits, int64_t rows,
                         int64_t vocab);
// Index of the largest logit per row (first one on ties).
void argmax_rows_cpu(const float* logits, int32_t* out, int64_t rows, int64_t vocab);

}  // namespace seqbench
