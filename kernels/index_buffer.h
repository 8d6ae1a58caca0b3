// int32 indices (token ids, targets, row orders) on a device: what kernels that take `const int32_t*`
// read. Allocated through the accounted device allocator, like Tensor. Move-only.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/tensor.h"

namespace seqbench {

class IndexBuffer {
 public:
  explicit IndexBuffer(Device device = Device::cpu) : device_(device) {}
  ~IndexBuffer();
  IndexBuffer(const IndexBuffer&) = delete;
  IndexBuffer& operator=(const IndexBuffer&) = delete;
  IndexBuffer(IndexBuffer&& other) noexcept;
  IndexBuffer& operator=(IndexBuffer&& other) noexcept;

  // Copies `count` host values in (reallocating only when the capacity is too small).
  void upload(const int32_t* host, int64_t count);
  void upload(const std::vector<int32_t>& host) { upload(host.data(), static_cast<int64_t>(host.size())); }
  std::vector<int32_t> download() const;
  // Room for `count` values (contents unspecified until written).
  void reserve(int64_t count);

  int32_t* data() { return data_; }
  const int32_t* data() const { return data_; }
  int64_t size() const { return size_; }
  Device device() const { return device_; }

 private:
  void release();

  Device device_;
  int32_t* data_ = nullptr;
  int64_t size_ = 0, capacity_ = 0;
};

}  // namespace seqbench
