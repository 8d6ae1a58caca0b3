// Per-device allocation with byte accounting (current and peak), so the profiler can report the
// project's own peak memory. The CPU allocator is built in; the CUDA backend registers its own.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ops/tensor.h"

namespace seqbench {

struct DeviceAllocator {
  void* (*allocate)(size_t bytes) = nullptr;          // must throw on failure
  void (*release)(void* ptr) = nullptr;
  void (*copy)(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) = nullptr;
  void (*fill_zero)(void* ptr, size_t bytes) = nullptr;
};

void register_device_allocator(Device device, const DeviceAllocator& allocator);
bool device_available(Device device);

void* device_allocate(Device device, size_t bytes);
void device_release(Device device, void* ptr, size_t bytes);
void device_copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
void device_fill_zero(Device device, void* ptr, size_t bytes);

struct MemoryCounters {
  int64_t current_bytes = 0;
  int64_t peak_bytes = 0;
};
MemoryCounters memory_counters(Device device);
void reset_peak_memory(Device device);  // peak := current

}  // namespace seqbench
