#include "mixers/ssm/ssd_ops.h"

#include "ops/device_dispatch.h"
#ifdef SEQBENCH_WITH_CUDA
#include "mixers/ssm/ssd_cuda.cuh"
#endif

namespace seqbench {

void ssd_fwd(Device device, const SsdInputs& in, float* y, float* final_state, SsdWorkspace& ws, const SsdShape& shape,
             int64_t chunk_size) {
  if (device == Device::cpu) return ssd_fwd_cpu(in, y, final_state, ws, shape, chunk_size);
  SEQBENCH_ON_CUDA("ssd_fwd", ssd_fwd_cuda(in, y, final_state, ws, shape, chunk_size));
}

void ssd_bwd(Device device, const SsdInputs& in, const float* dy, const SsdGrads& grads, SsdWorkspace& ws,
             const SsdShape& shape, int64_t chunk_size) {
  if (device == Device::cpu) return ssd_bwd_cpu(in, dy, grads, ws, shape, chunk_size);
  SEQBENCH_ON_CUDA("ssd_bwd", ssd_bwd_cuda(in, dy, grads, ws, shape, chunk_size));
}

void ssd_decode(Device device, const SsdInputs& in_t, float* state, float* y_t, SsdWorkspace& ws,
                const SsdShape& shape) {
  if (device == Device::cpu) return ssd_decode_cpu(in_t, state, y_t, ws, shape);
  SEQBENCH_ON_CUDA("ssd_decode", ssd_decode_cuda(in_t, state, y_t, ws, shape));
}

}  // namespace seqbench
