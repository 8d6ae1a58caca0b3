// Device::cuda allocation through cudaMalloc, registered with device_memory.h so that current and
// peak bytes are counted the same way as on the CPU. Checked by tests/test_gpu_ops.cpp.
#include <cuda_runtime_api.h>

#include <mutex>
#include <stdexcept>
#include <string>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_device.h"
#include "ops/device_memory.h"

namespace seqbench {
namespace {

void* cuda_allocate(size_t bytes) {
  void* ptr = nullptr;
  // 256-byte granules keep every buffer aligned for 16-byte vector loads; zero-byte requests
  // still get a unique pointer.
  const cudaError_t status = cudaMalloc(&ptr, bytes == 0 ? 256 : bytes);
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // clear the sticky-free error so later calls work
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    throw std::runtime_error("CUDA out of memory: asked for " + std::to_string(bytes) + " bytes, " +
                             std::to_string(free_bytes) + " free of " + std::to_string(total_bytes) +
                             " (peak " + std::to_string(memory_counters(Device::cuda).peak_bytes) +
                             " allocated by seqbench)");
  }
  cudaCheck(status);
  return ptr;
}

void cuda_release(void* ptr) { cudaCheck(cudaFree(ptr)); }

void cuda_copy(void* dst, Device, const void* src, Device, size_t bytes) {
  // Unified addressing lets the runtime infer the direction from the pointers.
  cudaCheck(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

void cuda_fill_zero(void* ptr, size_t bytes) { cudaCheck(cudaMemset(ptr, 0, bytes)); }

void require_device() {
  if (!cuda_device_present())
    throw std::runtime_error("no CUDA device is present (cudaGetDeviceCount found none or failed)");
}

}  // namespace

bool cuda_device_present() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return count > 0;
}

void init_cuda_device(int device_index) {
  require_device();
  static std::once_flag registered;
  cudaCheck(cudaSetDevice(device_index));
  std::call_once(registered, [] {
    register_device_allocator(Device::cuda, DeviceAllocator{cuda_allocate, cuda_release, cuda_copy, cuda_fill_zero});
  });
}

CudaDeviceInfo cuda_device_info() {
  require_device();
  CudaDeviceInfo info;
  cudaCheck(cudaGetDevice(&info.index));
  cudaDeviceProp prop{};
  cudaCheck(cudaGetDeviceProperties(&prop, info.index));
  info.name = prop.name;
  info.compute_major = prop.major;
  info.compute_minor = prop.minor;
  info.multiprocessors = prop.multiProcessorCount;
  info.total_memory_bytes = static_cast<int64_t>(prop.totalGlobalMem);
  info.l2_bytes = prop.l2CacheSize;
  info.memory_bus_bits = prop.memoryBusWidth;
  cudaCheck(cudaDeviceGetAttribute(&info.sm_clock_khz, cudaDevAttrClockRate, info.index));
  cudaCheck(cudaDeviceGetAttribute(&info.memory_clock_khz, cudaDevAttrMemoryClockRate, info.index));
  cudaCheck(cudaDriverGetVersion(&info.driver_version));
  cudaCheck(cudaRuntimeGetVersion(&info.runtime_version));
  return info;
}

}  // namespace seqbench
