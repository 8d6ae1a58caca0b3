#include "kernels/index_buffer.h"

#include <utility>

#include "kernels/device_memory.h"

namespace seqbench {

IndexBuffer::~IndexBuffer() { release(); }

IndexBuffer::IndexBuffer(IndexBuffer&& other) noexcept
    : device_(other.device_),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

IndexBuffer& IndexBuffer::operator=(IndexBuffer&& other) noexcept {
  std::swap(device_, other.device_);
  std::swap(data_, other.data_);
  std::swap(size_, other.size_);
  std::swap(capacity_, other.capacity_);
  return *this;
}

void IndexBuffer::release() {
  if (data_) device_release(device_, data_, static_cast<size_t>(capacity_) * sizeof(int32_t));
  data_ = nullptr;
  size_ = capacity_ = 0;
}

void IndexBuffer::reserve(int64_t count) {
  if (count > capacity_) {
    release();
    data_ = static_cast<int32_t*>(device_allocate(device_, static_cast<size_t>(count) * sizeof(int32_t)));
    capacity_ = count;
  }
  size_ = count;
}

void IndexBuffer::upload(const int32_t* host, int64_t count) {
  reserve(count);
  if (count > 0) device_copy(data_, device_, host, Device::cpu, static_cast<size_t>(count) * sizeof(int32_t));
}

std::vector<int32_t> IndexBuffer::download() const {
  std::vector<int32_t> host(static_cast<size_t>(size_));
  if (size_ > 0) device_copy(host.data(), Device::cpu, data_, device_, static_cast<size_t>(size_) * sizeof(int32_t));
  return host;
}

}  // namespace seqbench
