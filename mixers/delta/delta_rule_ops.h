// The delta rule on either device: delta_rule_{fwd,bwd,decode}(Device, ...) run the CPU kernels of
// delta_rule_cpu.h or, in CUDA builds, their _cuda twins (delta_rule_cuda.cuh) on device pointers.
#pragma once
#include <cstdint>

#include "mixers/delta/delta_rule_cpu.h"
#include "ops/tensor.h"

namespace seqbench {

void delta_rule_fwd(Device device, const float* q, const float* k, const float* v, const float* beta,
                    const float* log_decay, float* out, float* checkpoints, float* final_state,
                    const DeltaRuleShape& shape, const DeltaRuleOptions& options);

void delta_rule_bwd(Device device, const float* q, const float* k, const float* v, const float* beta,
                    const float* log_decay, const float* checkpoints, const float* dout, float* dq, float* dk,
                    float* dv, float* dbeta, float* dlog_decay, const DeltaRuleShape& shape,
                    const DeltaRuleOptions& options);

void delta_rule_decode(Device device, const float* q_t, const float* k_t, const float* v_t, const float* beta_t,
                       const float* log_decay_t, float* state, float* out_t, const DeltaRuleShape& shape);

}  // namespace seqbench
