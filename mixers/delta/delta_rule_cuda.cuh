// The (gated) delta rule on the GPU: S_t = a_t S_{t-1} (I - b_t k_t k_t^T) + b_t v_t k_t^T, o_t = S_t q_t, the
// exact recurrence with delta_rule_cpu.h's layouts and checkpoints; checked against it in tests/test_gpu_delta.cpp.
//
// One thread block (up to 512 threads) per (batch, head) scans time over its [key_dim, value_dim] state
// (S^T, as on the CPU), in shared memory when it fits beside the per-token vectors under the device's
// opt-in limit (128 x 128 on any sm_80+ GPU, up to 225 x 225 on sm_90), otherwise in global memory
// (final_state or a scratch buffer in forward, the workspace in backward). Every reduction runs in a
// fixed order, so results repeat bit for bit. Time is sequential within a block: the parallelism is
// batch * heads blocks of key_dim * value_dim state elements each.
//
// Limits: key_dim and value_dim in [1, 256], batch * heads < 2^31 (std::invalid_argument beyond); options as on the CPU
// (chunk_size >= 1, recompute_span >= 0). Checkpoints are written and read exactly as on the CPU, so the
// two devices' forward and backward passes can be mixed. recompute_span is honoured as on the CPU (0: as
// many tokens as fit in 1 MiB per head); it only trades workspace for a second forward pass per chunk.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mixers/delta/delta_rule_cpu.h"

namespace seqbench {

constexpr int64_t kDeltaRuleCudaMaxHeadDim = 256;

// All pointers device pointers, layouts as delta_rule_fwd_cpu (checkpoints and final_state may be null).
void delta_rule_fwd_cuda(const float* q, const float* k, const float* v, const float* beta, const float* log_decay,
                         float* out, float* checkpoints, float* final_state, const DeltaRuleShape& shape,
                         const DeltaRuleOptions& options, cudaStream_t stream = nullptr);

// Floats of scratch the backward needs: per (batch, head), the recomputed states of one span, the span
// start states of one chunk, and the state gradient when it does not fit in shared memory.
int64_t delta_rule_bwd_workspace_floats(const DeltaRuleShape& shape, const DeltaRuleOptions& options);

// As delta_rule_bwd_cpu; gradients overwritten. workspace: delta_rule_bwd_workspace_floats(...) floats, or
// null to allocate one inside the call (freed once the stream has finished with it).
void delta_rule_bwd_cuda(const float* q, const float* k, const float* v, const float* beta, const float* log_decay,
                         const float* checkpoints, const float* dout, float* dq, float* dk, float* dv, float* dbeta,
                         float* dlog_decay, const DeltaRuleShape& shape, const DeltaRuleOptions& options,
                         float* workspace = nullptr, cudaStream_t stream = nullptr);

// As delta_rule_decode_cpu: one token per (batch, head), state [batch, heads, key_dim, value_dim] in place.
void delta_rule_decode_cuda(const float* q_t, const float* k_t, const float* v_t, const float* beta_t,
                            const float* log_decay_t, float* state, float* out_t, const DeltaRuleShape& shape,
                            cudaStream_t stream = nullptr);

}  // namespace seqbench
