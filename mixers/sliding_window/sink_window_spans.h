// Key sets of sliding-window attention with attention sinks: query t sees keys j < sinks and
// t - window < j <= t (StreamingLLM, Xiao et al. 2023, Sec. 3.2; sinks = 0 is Longformer's local window).
// Checked against a direct membership test and against decode in test_sliding_window.cpp.
#pragma once
#include <cstdint>

#include "mixers/softmax/masked_attention.h"

namespace seqbench {

// Two spans per query (sinks, then window), ascending and disjoint: the window starts at or after
// the last sink. Sizes: sinks >= 0, window >= 1.
constexpr int64_t kSinkWindowSpans = 2;
// spans: [seq_len, kSinkWindowSpans], token indices.
void sink_window_sequence_spans(int64_t seq_len, int64_t sinks, int64_t window, KeySpan* spans);

// The decode cache: min(sinks, slots) sink slots, then a ring of the remaining slots holding the
// latest tokens (token u >= sinks lives in slot sinks + (u - sinks) % ring). A ring shorter than
// the window is only valid for caches that never hold more than `slots` tokens.
struct SinkWindowRing {
  int64_t sinks = 0, window = 1, slots = 1;

  int64_t sink_slots() const { return sinks < slots ? sinks : slots; }
  int64_t ring() const { return slots - sink_slots(); }
  int64_t slot_of(int64_t token) const {
    return token < sink_slots() ? token : sink_slots() + (token - sink_slots()) % ring();
  }
};

// The window can wrap around the ring once, so up to three spans: sinks, ring tail, ring head.
constexpr int64_t kSinkWindowDecodeSpans = 3;
// Slots the query at token `position` attends to (its own key already written), in token order.
void sink_window_decode_spans(int64_t position, const SinkWindowRing& ring, KeySpan* spans);

}  // namespace seqbench
