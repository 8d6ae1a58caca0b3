// Key spans stored where the attention kernels read them, on either device (a DeviceBuffer, so
// span tables count towards peak memory). Data-independent patterns (sink + window) are computed on the host and
// uploaded; data-dependent ones (block top-k) are written in place by a kernel on the buffer's device. Plain C++:
// usable from CPU-only builds, where a Device::cuda buffer throws on first allocation.
#pragma once
#include <cstdint>

#include "mixers/softmax/masked_attention.h"
#include "ops/device_buffer.h"

namespace seqbench {

class SpanBuffer : public DeviceBuffer<KeySpan> {
 public:
  using DeviceBuffer<KeySpan>::DeviceBuffer;

  // The spans as a table of `width` per row (see SpanTable); the pointer stays valid until the
  // next resize/upload to a larger size or another device. Throws std::invalid_argument unless
  // width >= 1 and size() is a multiple of it.
  SpanTable table(int64_t width, bool per_head) const;
};

}  // namespace seqbench
