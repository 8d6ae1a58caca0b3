// Device::cuda allocation, registered with device_memory.h so that current and peak bytes are
// counted the same way as on the CPU. Allocations come from the device's stream-ordered memory pool
// (cudaMallocAsync / cudaFreeAsync on the current stream) with its release threshold at the maximum:
// freed blocks are cached for reuse instead of returned to the driver, and freeing never waits for
// the device (cudaFree does), so a training step that creates and drops tensors does not stall.
// Checked by tests/test_gpu_ops.cpp.
#include <cuda_runtime_api.h>

#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>

#include "ops/cuda/capture_ledger.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_device.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/device_memory.h"

namespace seqbench {
namespace {

void* cuda_allocate(size_t bytes) {
  void* ptr = nullptr;
  // Pool blocks are aligned for 16-byte vector loads; zero-byte requests still get a unique pointer.
  const size_t asked = bytes == 0 ? 256 : bytes;
  cudaError_t status = cudaMallocAsync(&ptr, asked, current_stream());
  if (status == cudaErrorMemoryAllocation) {
    // The pool may be holding freed blocks of other sizes: give them back to the driver, once.
    (void)cudaGetLastError();
    int device = 0;
    cudaMemPool_t pool = nullptr;
    cudaCheck(cudaGetDevice(&device));
    cudaCheck(cudaDeviceGetDefaultMemPool(&pool, device));
    cudaCheck(cudaStreamSynchronize(current_stream()));
    cudaCheck(cudaMemPoolTrimTo(pool, 0));
    status = cudaMallocAsync(&ptr, asked, current_stream());
  }
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // clear the error so later calls work
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    throw std::runtime_error("CUDA out of memory: asked for " + std::to_string(bytes) + " bytes, " +
                             std::to_string(free_bytes) + " free of " + std::to_string(total_bytes) +
                             " (peak " + std::to_string(memory_counters(Device::cuda).peak_bytes) +
                             " allocated by seqbench)");
  }
  cudaCheck(status);
  if (capture_ledger().recording) capture_ledger().allocated.insert(ptr);
  return ptr;
}

void cuda_release(void* ptr) {
  CaptureLedger& ledger = capture_ledger();
  if (ledger.recording && ledger.allocated.erase(ptr) == 0) {
    ledger.held_frees.push_back(ptr);
    return;
  }
  const cudaError_t status = cudaFreeAsync(ptr, current_stream());
  // A tensor dropped while an exception unwinds (e.g. out of a stream capture that was cut short)
  // must not throw again: that would terminate. The error is cleared and the original one reported.
  if (status != cudaSuccess && std::uncaught_exceptions() > 0) {
    (void)cudaGetLastError();
    return;
  }
  cudaCheck(status);
}

// Copies are ordered on the current stream. Only a copy to the host waits for it (its caller reads
// the values next); a copy from the host returns once the runtime has staged the host values, so
// the caller may reuse them at once and the device is not waited for; a device-to-device copy is
// enqueued. Unified addressing lets the runtime infer the direction from the pointers.
void cuda_copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  // A record would copy from the host address at every replay, long after the values there are gone,
  // and a copy to the host waits: work that does either is not recorded (it runs as it is).
  if (capture_ledger().recording && (dst_device == Device::cpu || src_device == Device::cpu))
    throw std::runtime_error("a copy between host and device cannot be recorded in a CUDA graph");
  const cudaStream_t stream = current_stream();
  cudaCheck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream));
  if (dst_device == Device::cpu) cudaCheck(cudaStreamSynchronize(stream));
}

void cuda_fill_zero(void* ptr, size_t bytes) { cudaCheck(cudaMemsetAsync(ptr, 0, bytes, current_stream())); }

void require_device() {
  if (!cuda_device_present())
    throw std::runtime_error("no CUDA device is present (cudaGetDeviceCount found none or failed)");
}

}  // namespace

CaptureLedger& capture_ledger() {
  thread_local CaptureLedger ledger;
  return ledger;
}

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
  std::call_once(registered, [device_index] {
    // Keep every freed block in the pool: a steady training loop then allocates from the cache.
    cudaMemPool_t pool = nullptr;
    cudaCheck(cudaDeviceGetDefaultMemPool(&pool, device_index));
    uint64_t keep_all = UINT64_MAX;
    cudaCheck(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all));
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
