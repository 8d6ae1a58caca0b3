// Gated linear attention on either device: gla_{fwd,bwd,decode}(Device, ...) run the CPU kernels of
// gla_cpu.h or, in CUDA builds, their _cuda twins (gla_cuda.cuh) on device pointers, same arguments.
#pragma once
#include "mixers/gla/gla_cpu.h"
#include "ops/tensor.h"

namespace seqbench {

void gla_fwd(Device device, const float* q, const float* k, const float* v, const float* log_decay, float* out,
             float* chunk_states, float* final_state, const GlaShape& shape, const GlaOptions& options);

void gla_bwd(Device device, const float* q, const float* k, const float* v, const float* log_decay,
             const float* chunk_states, const float* dout, float* dq, float* dk, float* dv, float* dlog_decay,
             const GlaShape& shape, const GlaOptions& options);

void gla_decode(Device device, const float* q_t, const float* k_t, const float* v_t, const float* log_decay_t,
                float* state, float* out_t, const GlaShape& shape, const GlaOptions& options);

}  // namespace seqbench
