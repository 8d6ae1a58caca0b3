// GLA's log-space decay on either device: log_sigmoid_decay_{fwd,bwd}(Device, ...) run the CPU kernels of
// log_sigmoid_decay.h or, in CUDA builds, their _cuda twins (log_sigmoid_decay_cuda.cuh) on device pointers.
#pragma once
#include <cstdint>

#include "mixers/gla/log_sigmoid_decay.h"
#include "ops/tensor.h"

namespace seqbench {

void log_sigmoid_decay_fwd(Device device, const float* z, float* log_decay, int64_t n, float tau);
void log_sigmoid_decay_bwd(Device device, const float* z, const float* dlog_decay, float* dz, int64_t n, float tau);

}  // namespace seqbench
