// Key spans stored where the attention kernels read them: host memory for Device::cpu, GPU memory
// (through device_memory.h's accounted allocator, so span tables count towards peak memory) for
// Device::cuda. Data-independent patterns (sink + window) are computed on the host and uploaded;
// data-dependent ones (block top-k) are written in place by a kernel on the buffer's device.
// Plain C++: usable from CPU-only builds, where a Device::cuda buffer throws on first allocation.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/masked_attention/masked_attention_cpu.h"
#include "kernels/tensor.h"

namespace seqbench {

class SpanBuffer {
 public:
  explicit SpanBuffer(Device device = Device::cpu) : device_(device) {}
  ~SpanBuffer();
  SpanBuffer(SpanBuffer&& other) noexcept;
  SpanBuffer& operator=(SpanBuffer&& other) noexcept;
  SpanBuffer(const SpanBuffer&) = delete;
  SpanBuffer& operator=(const SpanBuffer&) = delete;

  Device device() const { return device_; }
  int64_t size() const { return size_; }  // spans held
  // A host pointer for Device::cpu, a device pointer for Device::cuda; null while empty.
  KeySpan* data();
  const KeySpan* data() const;

  // Room for `count` spans on `device`, for a kernel to fill (contents unspecified). Storage is
  // reused while it is large enough and the device is unchanged, so resizing every forward or
  // decode step allocates only when a table grows. Throws std::invalid_argument for count < 0.
  void resize(int64_t count, Device device);
  void resize(int64_t count) { resize(count, device_); }

  // Copies host spans onto the buffer's device; size() becomes their count. For Device::cuda this
  // is a synchronous cudaMemcpy: kernels that read the old contents on the default stream (or a
  // stream synchronised with it) have finished, and the host vector may be reused at once.
  void upload(const KeySpan* spans, int64_t count);
  void upload(const std::vector<KeySpan>& spans) { upload(spans.data(), static_cast<int64_t>(spans.size())); }

  std::vector<KeySpan> download() const;  // a host copy of the size() spans

  // The spans as a table of `width` per row (see SpanTable); the pointer stays valid until the
  // next resize/upload to a larger size or another device. Throws std::invalid_argument unless
  // width >= 1 and size() is a multiple of it.
  SpanTable table(int64_t width, bool per_head) const;

 private:
  void release_device_storage();

  Device device_;
  int64_t size_ = 0;
  std::vector<KeySpan> host_;        // Device::cpu storage
  KeySpan* device_spans_ = nullptr;  // Device::cuda storage, device_capacity_ spans
  int64_t device_capacity_ = 0;
};

}  // namespace seqbench
