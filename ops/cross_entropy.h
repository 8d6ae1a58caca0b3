// Softmax cross-entropy over rows of logits: loss = mean_r (logsumexp(z_r) - z_r[target_r]);
// dlogits = (softmax(z_r) - onehot(target_r)) / rows. Checked by finite differences (tests/test_model_gradients.cpp);
// the CUDA kernels against the CPU ones in tests/test_gpu_ops.cpp.
#pragma once

#include "ops/kernel_table.h"

namespace seqbench {

// cuda(): the same on the GPU; targets and the loss live on the device, and nothing waits for the
// stream (a training step reads its loss when the trainer reports, not every step).

struct CrossEntropyKernels : KernelFamily<CrossEntropyKernels> {
  static constexpr const char* kFamily = "cross_entropy";

  // Writes the mean loss (rows summed in a fixed order: deterministic) to *mean_loss, which lives on
  // the kernels' device, and dlogits (may alias nothing) when non-null.
  void (*loss)(const float* logits, const int32_t* targets, float* dlogits, int64_t rows, int64_t vocab,
               double* mean_loss);
  // Index of the largest logit per row (first one on ties).
  void (*argmax_rows)(const float* logits, int32_t* out, int64_t rows, int64_t vocab);
};

}  // namespace seqbench
