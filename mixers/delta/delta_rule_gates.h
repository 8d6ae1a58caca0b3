// The elementwise maps in front of the delta rule, as fla's DeltaNet / Gated DeltaNet apply them
// (fla-org/flash-linear-attention, use_qk_l2norm_in_kernel, use_gate_in_kernel): q, k <- x / sqrt(|x|^2 + eps)
// per head row; b_t = sigmoid(x_b); g_t = log a_t = -exp(A_log) softplus(x_a + dt_bias) (Gated DeltaNet,
// Yang, Kautz & Hatamizadeh 2024, sec. 3; Mamba-2's discretisation). Backward passes are their exact
// derivatives, checked by finite differences in test_delta.cpp; the CUDA kernels (delta_rule_gates_cuda.cu)
// against the CPU ones in test_gpu_delta.cpp.
#pragma once

#include "ops/kernel_table.h"

namespace seqbench {

// cuda(): the same on the GPU (device pointers, fp32); the parameter gradients of the gated decay are
// summed in a fixed order (deterministic).

struct DeltaRuleGateKernels : KernelFamily<DeltaRuleGateKernels> {
  static constexpr const char* kFamily = "delta_rule_gates";

  // y = x / sqrt(sum x^2 + eps) over each row of `width`; x, y: [rows, width].
  void (*l2_normalize_fwd)(const float* x, float* y, int64_t rows, int64_t width, float eps);
  // dx = r (dy - y (y . dy)) with r = 1 / sqrt(|x|^2 + eps), recomputed from x; dx overwritten.
  void (*l2_normalize_bwd)(const float* x, const float* dy, float* dx, int64_t rows, int64_t width, float eps);
  void (*sigmoid_fwd)(const float* x, float* y, int64_t n);
  // From the forward's output: dx = dy y (1 - y); dx overwritten.
  void (*sigmoid_bwd)(const float* y, const float* dy, float* dx, int64_t n);
  // log_decay[r, h] = -exp(a_log[h]) * softplus(x[r, h] + dt_bias[h]); x, log_decay: [rows, heads].
  void (*gated_decay_fwd)(const float* x, const float* a_log, const float* dt_bias, float* log_decay, int64_t rows,
                          int64_t heads);
  // dx overwritten; da_log and ddt_bias [heads] accumulated (summed over rows in a fixed order, so
  // the result does not depend on the thread count).
  void (*gated_decay_bwd)(const float* x, const float* a_log, const float* dt_bias, const float* dlog_decay, float* dx,
                          float* da_log, float* ddt_bias, int64_t rows, int64_t heads);
};

}  // namespace seqbench
