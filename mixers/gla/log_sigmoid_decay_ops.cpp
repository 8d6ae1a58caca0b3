#include "mixers/gla/log_sigmoid_decay_ops.h"

#include "ops/device_dispatch.h"
#ifdef SEQBENCH_WITH_CUDA
#include "mixers/gla/log_sigmoid_decay_cuda.cuh"
#endif

namespace seqbench {

void log_sigmoid_decay_fwd(Device device, const float* z, float* log_decay, int64_t n, float tau) {
  if (device == Device::cpu) return log_sigmoid_decay_fwd_cpu(z, log_decay, n, tau);
  SEQBENCH_ON_CUDA("log_sigmoid_decay_fwd", log_sigmoid_decay_fwd_cuda(z, log_decay, n, tau));
}

void log_sigmoid_decay_bwd(Device device, const float* z, const float* dlog_decay, float* dz, int64_t n, float tau) {
  if (device == Device::cpu) return log_sigmoid_decay_bwd_cpu(z, dlog_decay, dz, n, tau);
  SEQBENCH_ON_CUDA("log_sigmoid_decay_bwd", log_sigmoid_decay_bwd_cuda(z, dlog_decay, dz, n, tau));
}

}  // namespace seqbench
