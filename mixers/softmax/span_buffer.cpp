// Span tables viewed as rows of a fixed width.
// Checked in test_gpu_softmax.cpp (host side in every build, the GPU side with one).
#include "mixers/softmax/span_buffer.h"

#include <stdexcept>
#include <string>

namespace seqbench {

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
