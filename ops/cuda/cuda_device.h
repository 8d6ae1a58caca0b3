// The CUDA device as the rest of the project sees it: whether one is present, how to make it the
// home of Device::cuda tensors (registers the allocator that device_memory.h accounts), and what it
// is (name, clocks, versions) for the results store. Plain C++: callable from CPU-only builds,
// where cuda_device_present() is false.
#pragma once
#include <cstdint>
#include <string>

namespace seqbench {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int compute_major = 0, compute_minor = 0;
  int multiprocessors = 0;
  int64_t total_memory_bytes = 0;
  int64_t l2_bytes = 0;
  int sm_clock_khz = 0;      // peak, as the driver reports it
  int memory_clock_khz = 0;  // peak
  int memory_bus_bits = 0;
  int driver_version = 0;    // e.g. 13000 for CUDA 13.0
  int runtime_version = 0;
};

// False (never an exception) when the build has no CUDA, the driver is missing, or no GPU exists.
bool cuda_device_present();

// Selects the GPU and registers the Device::cuda allocator (cudaMalloc with byte accounting; an
// allocation failure throws "CUDA out of memory: asked for X bytes, Y free of Z ..."). Idempotent.
// Throws std::runtime_error when no device is present.
void init_cuda_device(int device_index = 0);

// Throws std::runtime_error when no device is present.
CudaDeviceInfo cuda_device_info();

}  // namespace seqbench
