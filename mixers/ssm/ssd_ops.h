// Mamba-2's SSD scan on either device: ssd_{fwd,bwd,decode}(Device, ...) run the CPU kernels of ssd_cpu.h
// or, in CUDA builds, their _cuda twins (ssd_cuda.cuh) on device pointers, same arguments. The
// workspace's tensors move to the device of the call; give the matching fwd and bwd the same one.
#pragma once
#include <cstdint>

#include "mixers/ssm/ssd_cpu.h"
#include "ops/tensor.h"

namespace seqbench {

void ssd_fwd(Device device, const SsdInputs& in, float* y, float* final_state, SsdWorkspace& ws, const SsdShape& shape,
             int64_t chunk_size);
void ssd_bwd(Device device, const SsdInputs& in, const float* dy, const SsdGrads& grads, SsdWorkspace& ws,
             const SsdShape& shape, int64_t chunk_size);
void ssd_decode(Device device, const SsdInputs& in_t, float* state, float* y_t, SsdWorkspace& ws,
                const SsdShape& shape);

}  // namespace seqbench
