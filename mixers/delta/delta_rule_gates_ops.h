// The delta rule's gate maps on either device: l2_normalize_rows, sigmoid and gated_decay {fwd,bwd}(Device, ...)
// run the CPU kernels of delta_rule_gates.h or, in CUDA builds, their _cuda twins (delta_rule_gates_cuda.cuh).
#pragma once
#include <cstdint>

#include "mixers/delta/delta_rule_gates.h"
#include "ops/tensor.h"

namespace seqbench {

void l2_normalize_rows_fwd(Device device, const float* x, float* y, int64_t rows, int64_t width, float eps);
void l2_normalize_rows_bwd(Device device, const float* x, const float* dy, float* dx, int64_t rows, int64_t width,
                           float eps);

void sigmoid_fwd(Device device, const float* x, float* y, int64_t n);
void sigmoid_bwd(Device device, const float* y, const float* dy, float* dx, int64_t n);

void gated_decay_fwd(Device device, const float* x, const float* a_log, const float* dt_bias, float* log_decay,
                     int64_t rows, int64_t heads);
void gated_decay_bwd(Device device, const float* x, const float* a_log, const float* dt_bias, const float* dlog_decay,
                     float* dx, float* da_log, float* ddt_bias, int64_t rows, int64_t heads);

}  // namespace seqbench
