#include "mixers/sliding_window/sliding_window_mixer.h"

#include <algorithm>
#include <limits>

#include "mixers/sliding_window/sink_window_spans.h"
#include "models/mixer_params.h"

namespace seqbench {
namespace {

SinkWindowRing ring_of(int64_t sinks, int64_t window, const MaskedAttentionCache& cache) {
  return {sinks, window, cache.slots};
}

std::unique_ptr<AttentionKeyPattern> window_pattern(const MixerSpec& spec) {
  check_mixer_params(spec, sliding_window_params());
  return std::make_unique<SinkWindowPattern>(0, mixer_param_int_at_least(spec, sliding_window_params(), "window", 1));
}

}  // namespace

const MixerParamTable& sliding_window_params() {
  static const MixerParamTable table{{"window", 16, "keys per query: the query's own and the window - 1 before it"}};
  return table;
}

SpanTable SinkWindowPattern::sequence_spans(const Tensor&, const Tensor&, const AttentionShape& shape,
                                            SpanBuffer& storage) const {
  std::vector<KeySpan> spans(static_cast<size_t>(shape.seq_len * kSinkWindowSpans));
  sink_window_sequence_spans(shape.seq_len, sinks_, window_, spans.data());
  storage.upload_if_changed(spans);  // the same spans every step of one length
  return storage.table(kSinkWindowSpans, false);
}

MaskedCacheLayout SinkWindowPattern::cache_layout(int64_t max_len) const {
  const int64_t full = sinks_ + window_;
  if (max_len >= full) return {full, 0, std::numeric_limits<int64_t>::max()};
  return {max_len, 0, max_len};
}

int64_t SinkWindowPattern::slot_of(int64_t token, const MaskedAttentionCache& cache) const {
  return ring_of(sinks_, window_, cache).slot_of(token);
}

SpanTable SinkWindowPattern::decode_spans(const Tensor&, const MaskedAttentionCache& cache, SpanBuffer& storage) const {
  KeySpan spans[kSinkWindowDecodeSpans];
  sink_window_decode_spans(cache.position, ring_of(sinks_, window_, cache), spans);
  storage.upload(spans, kSinkWindowDecodeSpans);
  return storage.table(kSinkWindowDecodeSpans, false);
}

std::unique_ptr<Mixer> make_sliding_window_mixer(const MixerSpec& spec) {
  return make_masked_attention_mixer(spec, window_pattern(spec));
}

}  // namespace seqbench
