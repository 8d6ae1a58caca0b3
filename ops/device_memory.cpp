#include "ops/device_memory.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace seqbench {
namespace {

void* cpu_allocate(size_t bytes) {
  // 64-byte alignment keeps the vectorised CPU loops on whole cache lines.
  size_t rounded = (bytes + 63) / 64 * 64;
  void* ptr = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (!ptr) throw std::bad_alloc();
  return ptr;
}
void cpu_release(void* ptr) { std::free(ptr); }
void cpu_copy(void* dst, Device, const void* src, Device, size_t bytes) { std::memcpy(dst, src, bytes); }
void cpu_fill_zero(void* ptr, size_t bytes) { std::memset(ptr, 0, bytes); }

struct Slot {
  DeviceAllocator allocator;
  std::atomic<int64_t> current{0};
  std::atomic<int64_t> peak{0};
};

Slot& slot(Device device) {
  static Slot slots[2];
  static bool cpu_ready = [] {
    slots[0].allocator = DeviceAllocator{cpu_allocate, cpu_release, cpu_copy, cpu_fill_zero};
    return true;
  }();
  (void)cpu_ready;
  return slots[static_cast<int>(device)];
}

Slot& ready_slot(Device device) {
  Slot& s = slot(device);
  if (!s.allocator.allocate)
    throw std::runtime_error("device '" + device_name(device) +
                             "' is not available in this build (no allocator registered)");
  return s;
}

}  // namespace

void register_device_allocator(Device device, const DeviceAllocator& allocator) {
  slot(device).allocator = allocator;
}

bool device_available(Device device) { return slot(device).allocator.allocate != nullptr; }

void* device_allocate(Device device, size_t bytes) {
  Slot& s = ready_slot(device);
  void* ptr = s.allocator.allocate(bytes);
  int64_t now = s.current.fetch_add(static_cast<int64_t>(bytes)) + static_cast<int64_t>(bytes);
  int64_t peak = s.peak.load();
  while (now > peak && !s.peak.compare_exchange_weak(peak, now)) {
  }
  return ptr;
}

void device_release(Device device, void* ptr, size_t bytes) {
  if (!ptr) return;
  Slot& s = ready_slot(device);
  s.allocator.release(ptr);
  s.current.fetch_sub(static_cast<int64_t>(bytes));
}

void device_copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  // Any copy touching the GPU goes through the GPU allocator's copy function.
  Device owner = (dst_device == Device::cuda || src_device == Device::cuda) ? Device::cuda : Device::cpu;
  ready_slot(owner).allocator.copy(dst, dst_device, src, src_device, bytes);
}

void device_fill_zero(Device device, void* ptr, size_t bytes) { ready_slot(device).allocator.fill_zero(ptr, bytes); }

MemoryCounters memory_counters(Device device) {
  Slot& s = slot(device);
  return MemoryCounters{s.current.load(), s.peak.load()};
}

void reset_peak_memory(Device device) {
  Slot& s = slot(device);
  s.peak.store(s.current.load());
}

}  // namespace seqbench
