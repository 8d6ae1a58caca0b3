// Sink + sliding-window key sets, in token indices for training and in ring-buffer slots for
// decode (StreamingLLM, Xiao et al. 2023); checked in test_sliding_window.cpp.
#include "mixers/sliding_window/sink_window_spans.h"

#include <algorithm>

namespace seqbench {
namespace {

KeySpan span(int64_t begin, int64_t end) { return {static_cast<int32_t>(begin), static_cast<int32_t>(end)}; }

// First token of query t's window that is not a sink: the window and the sinks never overlap.
int64_t window_begin(int64_t t, int64_t sinks, int64_t window) { return std::max(sinks, t - window + 1); }

}  // namespace

void sink_window_sequence_spans(int64_t seq_len, int64_t sinks, int64_t window, KeySpan* spans) {
  for (int64_t t = 0; t < seq_len; ++t) {
    KeySpan* row = spans + t * kSinkWindowSpans;
    row[0] = span(0, std::min(sinks, t + 1));
    const int64_t begin = window_begin(t, sinks, window);
    row[1] = begin <= t ? span(begin, t + 1) : KeySpan{};
  }
}

void sink_window_decode_spans(int64_t position, const SinkWindowRing& ring, KeySpan* spans) {
  const int64_t t = position, sink_slots = ring.sink_slots();
  spans[0] = span(0, std::min(sink_slots, t + 1));
  spans[1] = spans[2] = KeySpan{};
  const int64_t first = window_begin(t, sink_slots, ring.window);
  if (first > t) return;
  // Tokens [first, t] sit in consecutive ring slots, wrapping past the ring's end at most once.
  const int64_t a = ring.slot_of(first), b = ring.slot_of(t);
  if (a <= b) {
    spans[1] = span(a, b + 1);
  } else {
    spans[1] = span(a, ring.slots);
    spans[2] = span(sink_slots, b + 1);
  }
}

}  // namespace seqbench
