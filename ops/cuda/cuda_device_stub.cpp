// Builds without CUDA still link the device queries: no device is ever present.
#ifndef SEQBENCH_WITH_CUDA
#include <stdexcept>

#include "ops/cuda/cuda_device.h"

namespace seqbench {

bool cuda_device_present() { return false; }

void init_cuda_device(int) {
  throw std::runtime_error("this build has no CUDA backend (configure with -DSEQBENCH_CUDA=ON)");
}

CudaDeviceInfo cuda_device_info() {
  throw std::runtime_error("this build has no CUDA backend (configure with -DSEQBENCH_CUDA=ON)");
}

}  // namespace seqbench
#endif
