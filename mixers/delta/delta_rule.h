// The (gated) delta rule, per head (Schlag et al. 2021; Yang et al. 2024, eq. 1; Yang, Kautz &
// Hatamizadeh 2024, eq. 10): S_t = a_t S_{t-1} (I - b_t k_t k_t^T) + b_t v_t k_t^T, o_t = S_t q_t,
// S [Dv, Dk] (held as S^T), a_t = exp(g_t) (a_t = 1 ungated). The CPU kernels are checked against a naive
// double-precision recurrence (and its finite differences for backward) in test_delta.cpp; the CUDA
// kernels (delta_rule_cuda.cu) against the CPU kernels in test_gpu_delta.cpp.
//
// Training form: the exact recurrence, token by token, with the state checkpointed at chunk
// boundaries; backward recomputes one chunk's states from its checkpoint and runs the exact
// reverse-mode recurrence (BPTT) through it. Not the WY/UT chunkwise form of Yang et al. 2024
// sec. 3: that form trades the recurrence for C x C triangular solves and matmuls, which pays on
// tensor cores but not here, where at head_dim <= 64 a token is a few contiguous passes over a
// state that stays in L1; the recurrence is also what decode runs, so training and decode share
// one arithmetic. The WY/UT form in bf16 on tensor cores, for long sequences at head_dim 64 and 128, is
// delta_rule_bf16.cuh.
#pragma once
#include <string>

#include "ops/kernel_table.h"
#include "ops/shape_legend.h"

namespace seqbench {

// q, k: [B, L, H, Dk]; v, out: [B, L, H, Dv]; beta, log_decay: [B, L, H]. States are held
// transposed, S^T: [B, H, Dk, Dv] (fla's [K, V] layout), so that S k and S q are sums of contiguous rows.
struct DeltaRuleShape : HeadsShape {
  int64_t key_dim = 0, value_dim = 0;  // Dk, Dv
};

struct DeltaRuleOptions {
  int64_t chunk_size = 64;  // tokens between the states forward saves for backward
  // Tokens whose states backward recomputes and holds at a time (<= chunk_size); 0 picks as many
  // as fit in 1 MiB (a whole 64-token chunk up to head_dim 64). A chunk longer than the span is
  // run forward twice in backward: once to save each span's start state, once span by span.
  int64_t recompute_span = 0;
};

// Saved states per (batch, head): ceil(seq_len / chunk_size).
int64_t delta_rule_checkpoint_count(const DeltaRuleShape& shape, const DeltaRuleOptions& options);

// cuda(): the same on the GPU (device pointers, fp32), the exact recurrence with the CPU's layouts and
// checkpoints (the two devices' passes can be mixed). One thread block (up to 512 threads) per
// (batch, head) scans time over its [Dk, Dv] state, in shared memory when it fits beside the per-token
// vectors under the device's opt-in limit (128 x 128 on any sm_80+ GPU, up to 225 x 225 on sm_90),
// otherwise in global memory. Every reduction runs in a fixed order, so results repeat bit for bit.
// Limits (cuda().unsupported): Dk and Dv in [1, 256], B * H < 2^31. Backward allocates its
// workspace per call unless given one (delta_rule_bwd_workspace_floats).
constexpr int64_t kDeltaRuleCudaMaxHeadDim = 256;
// Floats of scratch the backward needs: per (batch, head), the recomputed states of one span, the span
// start states of one chunk, and the state gradient when it does not fit in shared memory.
int64_t delta_rule_bwd_workspace_floats(const DeltaRuleShape& shape, const DeltaRuleOptions& options);
void delta_rule_bwd_cuda(const float* q, const float* k, const float* v, const float* beta, const float* log_decay,
                         const float* checkpoints, const float* dout, float* dq, float* dk, float* dv, float* dbeta,
                         float* dlog_decay, const DeltaRuleShape& shape, const DeltaRuleOptions& options,
                         float* workspace);

struct DeltaRuleKernels : KernelFamily<DeltaRuleKernels> {
  static constexpr const char* kFamily = "delta_rule";

  // Forward from a zero state. log_decay null means ungated (a_t = 1). checkpoints, when non-null,
  // [batch, heads, checkpoint_count, key_dim, value_dim], receives the state before each chunk
  // (what backward needs); final_state, when non-null, the state after the last token.
  void (*fwd)(const float* q, const float* k, const float* v, const float* beta, const float* log_decay, float* out,
              float* checkpoints, float* final_state, const DeltaRuleShape& shape, const DeltaRuleOptions& options);
  // Exact backward from the forward's checkpoints; gradients overwritten. dlog_decay is ignored
  // (may be null) when log_decay is null.
  void (*bwd)(const float* q, const float* k, const float* v, const float* beta, const float* log_decay,
              const float* checkpoints, const float* dout, float* dq, float* dk, float* dv, float* dbeta,
              float* dlog_decay, const DeltaRuleShape& shape, const DeltaRuleOptions& options);
  // One token per (batch, head), the state updated in place: q_t, k_t [batch, heads, key_dim];
  // v_t, out_t [batch, heads, value_dim]; beta_t, log_decay_t [batch, heads] (log_decay_t may be
  // null). shape.seq_len is ignored.
  void (*decode)(const float* q_t, const float* k_t, const float* v_t, const float* beta_t, const float* log_decay_t,
                 float* state, float* out_t, const DeltaRuleShape& shape);
  ShapeCheck<DeltaRuleShape> unsupported;
};

}  // namespace seqbench
