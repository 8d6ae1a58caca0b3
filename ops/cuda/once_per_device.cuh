// A value about the current CUDA device (multiprocessor count, shared-memory limits), asked of the driver
// once per device: launch plans that size their grids to the GPU consult it on every call.
#pragma once
#include <cuda_runtime_api.h>

#include <mutex>
#include <stdexcept>
#include <string>

#include "ops/cuda/cuda_check.h"

namespace seqbench {

// ask(device) -> T runs once per device index; each distinct Ask (each lambda) keeps its own values. who names
// the caller in the error for a device index past the table.
template <class T, class Ask>
const T& once_per_device(const char* who, Ask ask) {
  constexpr int kMaxDevices = 64;
  static std::once_flag asked[kMaxDevices];
  static T values[kMaxDevices];
  int device = 0;
  cudaCheck(cudaGetDevice(&device));
  if (device >= kMaxDevices) throw std::logic_error(std::string(who) + ": more than 64 devices");
  std::call_once(asked[device], [&] { values[device] = ask(device); });
  return values[device];
}

}  // namespace seqbench
