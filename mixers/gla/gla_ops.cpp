#include "mixers/gla/gla_ops.h"

#include "ops/device_dispatch.h"
#ifdef SEQBENCH_WITH_CUDA
#include "mixers/gla/gla_cuda.cuh"
#endif

namespace seqbench {

void gla_fwd(Device device, const float* q, const float* k, const float* v, const float* log_decay, float* out,
             float* chunk_states, float* final_state, const GlaShape& shape, const GlaOptions& options) {
  if (device == Device::cpu) return gla_fwd_cpu(q, k, v, log_decay, out, chunk_states, final_state, shape, options);
  SEQBENCH_ON_CUDA("gla_fwd", gla_fwd_cuda(q, k, v, log_decay, out, chunk_states, final_state, shape, options));
}

void gla_bwd(Device device, const float* q, const float* k, const float* v, const float* log_decay,
             const float* chunk_states, const float* dout, float* dq, float* dk, float* dv, float* dlog_decay,
             const GlaShape& shape, const GlaOptions& options) {
  if (device == Device::cpu)
    return gla_bwd_cpu(q, k, v, log_decay, chunk_states, dout, dq, dk, dv, dlog_decay, shape, options);
  SEQBENCH_ON_CUDA("gla_bwd",
                   gla_bwd_cuda(q, k, v, log_decay, chunk_states, dout, dq, dk, dv, dlog_decay, shape, options));
}

void gla_decode(Device device, const float* q_t, const float* k_t, const float* v_t, const float* log_decay_t,
                float* state, float* out_t, const GlaShape& shape, const GlaOptions& options) {
  if (device == Device::cpu) return gla_decode_cpu(q_t, k_t, v_t, log_decay_t, state, out_t, shape, options);
  SEQBENCH_ON_CUDA("gla_decode", gla_decode_cuda(q_t, k_t, v_t, log_decay_t, state, out_t, shape, options));
}

}  // namespace seqbench
