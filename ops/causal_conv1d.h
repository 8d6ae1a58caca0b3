// Causal depthwise 1-D convolution (Mamba / Mamba-2's short conv before the SSM, Gu & Dao 2023 Sec. 3.4):
// out[t, c] = bias[c] + sum_{j<K} w[j, c] in[t - (K-1) + j, c], inputs before t = 0 read as zero (or as
// the carried decode state). The CPU kernels are checked against a plain loop and finite differences in
// mixers/ssm/test_ssm.cpp, the CUDA kernels against them in tests/test_gpu_ops.cpp.
#pragma once

#include "ops/kernel_table.h"

namespace seqbench {

// in: [batch, seq_len, channels] rows in_stride apart (the conv input may be a column block of a
// wider projection); out: [batch, seq_len, channels] contiguous. Weights are tap-major, w [K, C],
// so the channel loop is contiguous; tap K-1 multiplies the current token.
struct Conv1dShape {
  int64_t batch = 0, seq_len = 0, channels = 0, kernel = 0;
};

// cuda(): the same on the GPU (device pointers, fp32). Backward sums dw and dbias over batch * time in a fixed
// order (deterministic, no atomics) through a workspace of about min(rows / 64, 1024) * (K + 1) * C
// floats allocated for the call.

struct CausalConv1dKernels : KernelFamily<CausalConv1dKernels> {
  static constexpr const char* kFamily = "causal_conv1d";

  void (*fwd)(const float* in, int64_t in_stride, const float* w, const float* bias, float* out,
              const Conv1dShape& shape);
  // din (rows din_stride apart) overwritten; dw [K, C] and dbias [C] accumulated.
  void (*bwd)(const float* in, int64_t in_stride, const float* w, const float* dout, float* din, int64_t din_stride,
              float* dw, float* dbias, const Conv1dShape& shape);
  // The decode state after a sequence: its last K-1 inputs, oldest first, zeros where the sequence is
  // shorter. state: [batch, K-1, channels].
  void (*final_state)(const float* in, int64_t in_stride, float* state, const Conv1dShape& shape);
  // One token per sequence: out_t = bias + w[K-1] in_t + sum_{j<K-1} w[j] state[j], then the state
  // shifts by one and takes in_t. in_t: [batch, channels] rows in_stride apart; out_t contiguous.
  void (*decode)(const float* in_t, int64_t in_stride, const float* w, const float* bias, float* state, float* out_t,
                 const Conv1dShape& shape);
};

}  // namespace seqbench
