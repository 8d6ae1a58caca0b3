// Sliding-window causal softmax attention: query t sees keys (t - window, t] (Longformer's local
// attention, Beltagy et al. 2020; Mistral's SWA), optionally plus the first `sinks` tokens
// (StreamingLLM's attention sinks, Xiao et al. 2023). Decode keeps the sinks and a ring buffer of
// the last `window` keys and values, so the state is window-bounded: 2 * min(L, sinks + window) *
// d_model floats per layer (the Zoology/Based count for sliding-window attention).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mixers/softmax/masked_attention_mixer.h"

namespace seqbench {

// The sink + window key pattern; shared with the "sparse" mixer's sink_window pattern.
class SinkWindowPattern : public AttentionKeyPattern {
 public:
  // sinks >= 0 and window >= 1 (checked by the mixers that read them from params).
  SinkWindowPattern(int64_t sinks, int64_t window) : sinks_(sinks), window_(window) {}

  SpanTable sequence_spans(const Tensor& q, const Tensor& k, const AttentionShape& shape,
                           SpanBuffer& storage) const override;
  // min(max_len, sinks + window) slots; a cache whose ring holds the whole window decodes
  // without a length limit, a shorter one up to max_len tokens.
  MaskedCacheLayout cache_layout(int64_t max_len) const override;
  int64_t slot_of(int64_t token, const MaskedAttentionCache& cache) const override;
  SpanTable decode_spans(const Tensor& q_t, const MaskedAttentionCache& cache, SpanBuffer& storage) const override;
  int64_t max_cached_tokens() const override { return sinks_ + window_; }
  int64_t keys_per_query(int64_t seq_len) const override { return std::max<int64_t>(1, std::min(seq_len, sinks_ + window_)); }

 private:
  int64_t sinks_, window_;
};

// Registered as "sliding_window"; params: sliding_window_params() (window, default 16, >= 1).
const MixerParamTable& sliding_window_params();

// The "sliding_window" backend of the mixer registry (models/mixer_registry.cpp). Throws
// std::invalid_argument on an unknown param, a window < 1, or a bad d_model / n_heads.
std::unique_ptr<Mixer> make_sliding_window_mixer(const MixerSpec& spec);

}  // namespace seqbench
