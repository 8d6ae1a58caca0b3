// Span tables viewed as rows of a fixed width; uploads that skip spans already there.
// Checked in test_gpu_softmax.cpp (host side in every build, the GPU side with one).
#include "mixers/softmax/span_buffer.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace seqbench {

void SpanBuffer::upload(const KeySpan* host, int64_t count) {
  uploaded_.clear();
  DeviceBuffer<KeySpan>::upload(host, count);
}

bool SpanBuffer::upload_if_changed(const std::vector<KeySpan>& host) {
  const auto same = [](const KeySpan& a, const KeySpan& b) { return a.begin == b.begin && a.end == b.end; };
  if (!host.empty() && host.size() == uploaded_.size() &&
      std::equal(host.begin(), host.end(), uploaded_.begin(), same))
    return false;
  upload(host);
  uploaded_ = host;
  return true;
}

SpanTable SpanBuffer::table(int64_t width, bool per_head) const {
  if (width < 1 || size() % width != 0)
    throw std::invalid_argument("SpanBuffer::table: width must be >= 1 and divide the " + std::to_string(size()) +
                                " spans held, got width " + std::to_string(width));
  SpanTable table;
  table.spans = data();
  table.width = width;
  table.per_head = per_head;
  return table;
}

}  // namespace seqbench
