#include "mixers/delta/delta_rule_gates_ops.h"

#include "ops/device_dispatch.h"
#ifdef SEQBENCH_WITH_CUDA
#include "mixers/delta/delta_rule_gates_cuda.cuh"
#endif

namespace seqbench {

void l2_normalize_rows_fwd(Device device, const float* x, float* y, int64_t rows, int64_t width, float eps) {
  if (device == Device::cpu) return l2_normalize_rows_fwd_cpu(x, y, rows, width, eps);
  SEQBENCH_ON_CUDA("l2_normalize_rows_fwd", l2_normalize_rows_fwd_cuda(x, y, rows, width, eps));
}

void l2_normalize_rows_bwd(Device device, const float* x, const float* dy, float* dx, int64_t rows, int64_t width,
                           float eps) {
  if (device == Device::cpu) return l2_normalize_rows_bwd_cpu(x, dy, dx, rows, width, eps);
  SEQBENCH_ON_CUDA("l2_normalize_rows_bwd", l2_normalize_rows_bwd_cuda(x, dy, dx, rows, width, eps));
}

void sigmoid_fwd(Device device, const float* x, float* y, int64_t n) {
  if (device == Device::cpu) return sigmoid_fwd_cpu(x, y, n);
  SEQBENCH_ON_CUDA("sigmoid_fwd", sigmoid_fwd_cuda(x, y, n));
}

void sigmoid_bwd(Device device, const float* y, const float* dy, float* dx, int64_t n) {
  if (device == Device::cpu) return sigmoid_bwd_cpu(y, dy, dx, n);
  SEQBENCH_ON_CUDA("sigmoid_bwd", sigmoid_bwd_cuda(y, dy, dx, n));
}

void gated_decay_fwd(Device device, const float* x, const float* a_log, const float* dt_bias, float* log_decay,
                     int64_t rows, int64_t heads) {
  if (device == Device::cpu) return gated_decay_fwd_cpu(x, a_log, dt_bias, log_decay, rows, heads);
  SEQBENCH_ON_CUDA("gated_decay_fwd", gated_decay_fwd_cuda(x, a_log, dt_bias, log_decay, rows, heads));
}

void gated_decay_bwd(Device device, const float* x, const float* a_log, const float* dt_bias, const float* dlog_decay,
                     float* dx, float* da_log, float* ddt_bias, int64_t rows, int64_t heads) {
  if (device == Device::cpu)
    return gated_decay_bwd_cpu(x, a_log, dt_bias, dlog_decay, dx, da_log, ddt_bias, rows, heads);
  SEQBENCH_ON_CUDA("gated_decay_bwd",
                   gated_decay_bwd_cuda(x, a_log, dt_bias, dlog_decay, dx, da_log, ddt_bias, rows, heads));
}

}  // namespace seqbench
