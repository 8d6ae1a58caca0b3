// An owned, typed GPU buffer allocated through the accounted Device::cuda allocator; used for
// kernel workspaces, tests and benchmarks (model tensors use Tensor instead). Move-only.
#pragma once
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "ops/cuda/cuda_check.h"
#include "ops/device_memory.h"

namespace seqbench {

template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(int64_t count)
      : count_(count), data_(static_cast<T*>(device_allocate(Device::cuda, bytes()))) {}
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(static_cast<int64_t>(host.size())) {
    upload(host);
  }
  ~DeviceArray() { device_release(Device::cuda, data_, bytes()); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& other) noexcept
      : count_(std::exchange(other.count_, 0)), data_(std::exchange(other.data_, nullptr)) {}
  DeviceArray& operator=(DeviceArray&& other) noexcept {
    std::swap(count_, other.count_);
    std::swap(data_, other.data_);
    return *this;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  int64_t size() const { return count_; }
  size_t bytes() const { return static_cast<size_t>(count_) * sizeof(T); }

  void upload(const std::vector<T>& host) {
    cudaCheck(cudaMemcpy(data_, host.data(), std::min(bytes(), host.size() * sizeof(T)), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(static_cast<size_t>(count_));
    cudaCheck(cudaMemcpy(host.data(), data_, bytes(), cudaMemcpyDeviceToHost));
    return host;
  }
  // Every byte set to `byte`: 0xFF poisons float buffers with NaNs so unwritten outputs show.
  void fill_bytes(int byte) { cudaCheck(cudaMemset(data_, byte, bytes())); }

 private:
  int64_t count_ = 0;
  T* data_ = nullptr;
};

}  // namespace seqbench
