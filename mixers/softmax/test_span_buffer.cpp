// The span buffer's host side: uploads, row views, moves and its argument checks.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <vector>

#include "mixers/sliding_window/sink_window_spans.h"
#include "mixers/softmax/masked_attention_cases.h"
#include "mixers/softmax/span_buffer.h"

using namespace seqbench;
using namespace seqbench::masked_cases;

TEST_CASE("a span buffer on the CPU holds uploaded spans and views them as a table of rows", "[masked][span_buffer]") {
  SpanBuffer buffer;
  CHECK(buffer.device() == Device::cpu);
  CHECK(buffer.size() == 0);
  CHECK(buffer.data() == nullptr);
  const auto spans = sink_window_table(9, 1, 3);
  buffer.upload(spans);
  CHECK(buffer.size() == static_cast<int64_t>(spans.size()));
  CHECK(same_spans(buffer.download(), spans));
  const SpanTable table = buffer.table(kSinkWindowSpans, false);
  CHECK(table.spans == buffer.data());
  CHECK(table.width == kSinkWindowSpans);
  CHECK_FALSE(table.per_head);
  CHECK(table.row(0, 4, 9)[1].begin == spans[4 * kSinkWindowSpans + 1].begin);
  CHECK_THROWS_AS(buffer.table(0, false), std::invalid_argument);
  CHECK_THROWS_AS(buffer.table(4, false), std::invalid_argument);  // 18 spans are not rows of 4
  CHECK_THROWS_AS(buffer.resize(-1), std::invalid_argument);

  buffer.resize(5);
  CHECK(buffer.size() == 5);
  SpanBuffer moved(std::move(buffer));
  CHECK(moved.size() == 5);
  CHECK(buffer.size() == 0);
  buffer.upload(std::vector<KeySpan>{});
  CHECK(buffer.data() == nullptr);
}

TEST_CASE("a span buffer copies spans in again only when they changed since its last such upload", "[masked][span_buffer]") {
  SpanBuffer buffer;
  const auto first = sink_window_table(9, 1, 3), second = sink_window_table(9, 0, 4);
  CHECK(buffer.upload_if_changed(first));
  CHECK_FALSE(buffer.upload_if_changed(first));
  CHECK(same_spans(buffer.download(), first));
  CHECK(buffer.upload_if_changed(second));
  CHECK(same_spans(buffer.download(), second));
  // A plain upload in between (decode spans, say) means the buffer no longer holds them.
  buffer.upload(first);
  CHECK(buffer.upload_if_changed(second));
  CHECK(same_spans(buffer.download(), second));
  CHECK_FALSE(buffer.upload_if_changed(second));
  // Nothing to copy is never "already there": an empty upload still sets the size to zero.
  CHECK(buffer.upload_if_changed(std::vector<KeySpan>{}));
  CHECK(buffer.size() == 0);
}
