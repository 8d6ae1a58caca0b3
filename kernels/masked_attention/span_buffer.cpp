// Span tables on either device; GPU storage goes through the accounted Device::cuda allocator.
// Checked in tests/test_gpu_masked_attention.cpp (host side in every build, the GPU side with one).
#include "kernels/masked_attention/span_buffer.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels/device_memory.h"

namespace seqbench {
namespace {

size_t span_bytes(int64_t count) { return static_cast<size_t>(count) * sizeof(KeySpan); }

}  // namespace

SpanBuffer::~SpanBuffer() { release_device_storage(); }

SpanBuffer::SpanBuffer(SpanBuffer&& other) noexcept
    : device_(other.device_),
      size_(std::exchange(other.size_, 0)),
      host_(std::move(other.host_)),
      device_spans_(std::exchange(other.device_spans_, nullptr)),
      device_capacity_(std::exchange(other.device_capacity_, 0)) {}

SpanBuffer& SpanBuffer::operator=(SpanBuffer&& other) noexcept {
  std::swap(device_, other.device_);
  std::swap(size_, other.size_);
  std::swap(host_, other.host_);
  std::swap(device_spans_, other.device_spans_);
  std::swap(device_capacity_, other.device_capacity_);
  return *this;
}

KeySpan* SpanBuffer::data() {
  if (size_ == 0) return nullptr;
  return device_ == Device::cpu ? host_.data() : device_spans_;
}

const KeySpan* SpanBuffer::data() const { return const_cast<SpanBuffer*>(this)->data(); }

void SpanBuffer::release_device_storage() {
  if (device_spans_) device_release(Device::cuda, device_spans_, span_bytes(device_capacity_));
  device_spans_ = nullptr;
  device_capacity_ = 0;
}

void SpanBuffer::resize(int64_t count, Device device) {
  if (count < 0) throw std::invalid_argument("SpanBuffer::resize: count must be >= 0, got " + std::to_string(count));
  if (device != device_) {
    release_device_storage();
    host_ = {};
    size_ = 0;
    device_ = device;
  }
  if (device_ == Device::cpu) {
    host_.resize(static_cast<size_t>(count));
  } else if (count > device_capacity_) {
    release_device_storage();
    size_ = 0;  // stays consistent if the allocation below throws
    device_spans_ = static_cast<KeySpan*>(device_allocate(Device::cuda, span_bytes(count)));
    device_capacity_ = count;
  }
  size_ = count;
}

void SpanBuffer::upload(const KeySpan* spans, int64_t count) {
  resize(count);
  if (count == 0) return;
  if (device_ == Device::cpu)
    std::copy(spans, spans + count, host_.begin());
  else
    device_copy(device_spans_, Device::cuda, spans, Device::cpu, span_bytes(count));
}

std::vector<KeySpan> SpanBuffer::download() const {
  if (device_ == Device::cpu) return std::vector<KeySpan>(host_.begin(), host_.begin() + size_);
  std::vector<KeySpan> out(static_cast<size_t>(size_));
  if (size_ > 0) device_copy(out.data(), Device::cpu, device_spans_, Device::cuda, span_bytes(size_));
  return out;
}

SpanTable SpanBuffer::table(int64_t width, bool per_head) const {
  if (width < 1 || size_ % width != 0)
    throw std::invalid_argument("SpanBuffer::table: width must be >= 1 and divide the " + std::to_string(size_) +
                                " spans held, got width " + std::to_string(width));
  SpanTable table;
  table.spans = data();
  table.width = width;
  table.per_head = per_head;
  return table;
}

}  // namespace seqbench
