#include "mixers/delta/delta_rule_ops.h"

#include "ops/device_dispatch.h"
#ifdef SEQBENCH_WITH_CUDA
#include "mixers/delta/delta_rule_cuda.cuh"
#endif

namespace seqbench {

void delta_rule_fwd(Device device, const float* q, const float* k, const float* v, const float* beta,
                    const float* log_decay, float* out, float* checkpoints, float* final_state,
                    const DeltaRuleShape& shape, const DeltaRuleOptions& options) {
  if (device == Device::cpu)
    return delta_rule_fwd_cpu(q, k, v, beta, log_decay, out, checkpoints, final_state, shape, options);
  SEQBENCH_ON_CUDA("delta_rule_fwd",
                   delta_rule_fwd_cuda(q, k, v, beta, log_decay, out, checkpoints, final_state, shape, options));
}

void delta_rule_bwd(Device device, const float* q, const float* k, const float* v, const float* beta,
                    const float* log_decay, const float* checkpoints, const float* dout, float* dq, float* dk,
                    float* dv, float* dbeta, float* dlog_decay, const DeltaRuleShape& shape,
                    const DeltaRuleOptions& options) {
  if (device == Device::cpu)
    return delta_rule_bwd_cpu(q, k, v, beta, log_decay, checkpoints, dout, dq, dk, dv, dbeta, dlog_decay, shape,
                              options);
  SEQBENCH_ON_CUDA("delta_rule_bwd", delta_rule_bwd_cuda(q, k, v, beta, log_decay, checkpoints, dout, dq, dk, dv, dbeta,
                                                         dlog_decay, shape, options));
}

void delta_rule_decode(Device device, const float* q_t, const float* k_t, const float* v_t, const float* beta_t,
                       const float* log_decay_t, float* state, float* out_t, const DeltaRuleShape& shape) {
  if (device == Device::cpu) return delta_rule_decode_cpu(q_t, k_t, v_t, beta_t, log_decay_t, state, out_t, shape);
  SEQBENCH_ON_CUDA("delta_rule_decode",
                   delta_rule_decode_cuda(q_t, k_t, v_t, beta_t, log_decay_t, state, out_t, shape));
}

}  // namespace seqbench
