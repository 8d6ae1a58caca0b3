// Key spans stored where the attention kernels read them, on either device (a DeviceBuffer, so
// span tables count towards peak memory). Data-independent patterns (sink + window) are computed on the host and
// uploaded; data-dependent ones (block top-k) are written in place by a kernel on the buffer's device. Plain C++:
// usable from CPU-only builds, where a Device::cuda buffer throws on first allocation.
#pragma once
#include <cstdint>
#include <vector>

#include "mixers/softmax/masked_attention.h"
#include "ops/device_buffer.h"

namespace seqbench {

class SpanBuffer : public DeviceBuffer<KeySpan> {
 public:
  using DeviceBuffer<KeySpan>::DeviceBuffer;

  void upload(const KeySpan* host, int64_t count);
  void upload(const std::vector<KeySpan>& host) { upload(host.data(), static_cast<int64_t>(host.size())); }
  // Uploads unless the buffer holds exactly these spans from the last upload_if_changed; says
  // whether it copied. A data-independent pattern then copies once per shape, and a training step
  // recorded as a CUDA graph makes no copy from host memory (which a record cannot hold). Only for
  // spans that come from uploads alone (no kernel writes them in place).
  bool upload_if_changed(const std::vector<KeySpan>& host);

  // The spans as a table of `width` per row (see SpanTable); the pointer stays valid until the
  // next resize/upload to a larger size or another device. Throws std::invalid_argument unless
  // width >= 1 and size() is a multiple of it.
  SpanTable table(int64_t width, bool per_head) const;

 private:
  std::vector<KeySpan> uploaded_;  // what upload_if_changed last copied in; empty after upload()
};

}  // namespace seqbench
