// An owned array of plain values (indices, key spans) on a device, allocated through the accounted
// allocator of ops/device_memory.h like Tensor's floats: what kernels taking `const int32_t*` or
// `const KeySpan*` read. Storage grows only when a larger size is asked for on the same device, so
// refilling it every step allocates only when it grows. Move-only.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ops/device_memory.h"
#include "ops/tensor.h"

namespace seqbench {

template <class T>
class DeviceBuffer {
  static_assert(std::is_trivially_copyable<T>::value, "device buffers hold plain values");

 public:
  explicit DeviceBuffer(Device device = Device::cpu) : device_(device) {}
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : device_(other.device_),
        data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    std::swap(device_, other.device_);
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
    return *this;
  }

  Device device() const { return device_; }
  int64_t size() const { return size_; }
  // Null while empty.
  T* data() { return size_ ? data_ : nullptr; }
  const T* data() const { return size_ ? data_ : nullptr; }

  // Room for `count` values on `device` (contents unspecified until written). Moving to another
  // device releases the old storage. Throws std::invalid_argument for count < 0.
  void resize(int64_t count, Device device) {
    if (count < 0) throw std::invalid_argument("device buffer: size must be >= 0, got " + std::to_string(count));
    if (device != device_) {
      release();
      device_ = device;
    }
    if (count > capacity_) {
      release();
      data_ = static_cast<T*>(device_allocate(device_, bytes(count)));
      capacity_ = count;
    }
    size_ = count;
  }
  void resize(int64_t count) { resize(count, device_); }

  // Copies `count` host values in; size() becomes count. The host values may be reused at once
  // (on the GPU the runtime stages them), and the GPU is not waited for.
  void upload(const T* host, int64_t count) {
    resize(count);
    if (count > 0) device_copy(data_, device_, host, Device::cpu, bytes(count));
  }
  void upload(const std::vector<T>& host) { upload(host.data(), static_cast<int64_t>(host.size())); }

  std::vector<T> download() const { return download(0, size_); }
  // Values [begin, begin + count); throws std::out_of_range outside [0, size()).
  std::vector<T> download(int64_t begin, int64_t count) const {
    if (begin < 0 || count < 0 || begin + count > size_)
      throw std::out_of_range("device buffer: values [" + std::to_string(begin) + ", " +
                              std::to_string(begin + count) + ") outside size " + std::to_string(size_));
    std::vector<T> host(static_cast<size_t>(count));
    if (count > 0) device_copy(host.data(), Device::cpu, data_ + begin, device_, bytes(count));
    return host;
  }

 private:
  static size_t bytes(int64_t count) { return static_cast<size_t>(count) * sizeof(T); }
  void release() {
    if (data_) device_release(device_, data_, bytes(capacity_));
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

  Device device_;
  T* data_ = nullptr;
  int64_t size_ = 0, capacity_ = 0;
};

}  // namespace seqbench
