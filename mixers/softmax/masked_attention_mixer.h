// Multi-head causal softmax attention restricted to a key pattern (sliding window, attention sinks,
// block top-k selection): the q, k, v, o projections of the softmax mixer around the shared kernels
// in masked_attention.h. A pattern says which keys each query sees, in a whole sequence and
// in the decode cache; this class does everything else, so each pattern is a few index rules.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/span_buffer.h"
#include "models/mixer.h"
#include "models/mixer_params.h"

namespace seqbench {

// Keys and values in `slots` slots per sequence (a ring buffer for window patterns, every token
// for block top-k), and per-pattern key summaries (block top-k: block means).
struct MaskedAttentionCache : CopyableCache<MaskedAttentionCache> {
  Tensor keys, values;  // [batch, slots, n_heads, head_dim]
  Tensor summaries;     // [batch, summary_rows, n_heads, head_dim], or empty
  int64_t batch = 0, slots = 0, summary_rows = 0;
  int64_t capacity = 0;  // tokens the cache can take: max_len, or unlimited for a ring holding a whole window
};

// What a pattern needs of a cache for sequences of up to max_len tokens.
struct MaskedCacheLayout {
  int64_t slots = 0, summary_rows = 0, capacity = 0;
};

// Which keys each query sees. Spans are written into caller-owned storage on the device of the
// projections (computed on the host and uploaded, or selected there by a kernel); the returned
// table points into it.
class AttentionKeyPattern {
 public:
  virtual ~AttentionKeyPattern() = default;

  // Every query of a sequence, in token indices, from its projections q, k [B, L, H, Dh].
  virtual SpanTable sequence_spans(const Tensor& q, const Tensor& k, const AttentionShape& shape,
                                   SpanBuffer& storage) const = 0;

  virtual MaskedCacheLayout cache_layout(int64_t max_len) const = 0;
  virtual int64_t slot_of(int64_t token, const MaskedAttentionCache& cache) const = 0;
  // Called once the keys of tokens [first, last) are in their slots (block top-k: block means).
  virtual void keys_written(MaskedAttentionCache& cache, int64_t first, int64_t last) const {}
  // The query at token cache.position, whose key is already in the cache, in slot indices;
  // q_t is [batch, d_model].
  virtual SpanTable decode_spans(const Tensor& q_t, const MaskedAttentionCache& cache, SpanBuffer& storage) const = 0;

  // The most tokens whose keys and values decode keeps, however long the sequence (the
  // Zoology/Based state size); the largest int64 when every token is kept.
  virtual int64_t max_cached_tokens() const = 0;
  // The most keys a query of a seq_len-token sequence sees (what its work is counted over).
  virtual int64_t keys_per_query(int64_t seq_len) const = 0;

  // Why the pattern's own kernels cannot select keys for `shape` on `device`; "" when they can.
  virtual std::string unsupported(const AttentionShape& shape, Device device) const { return {}; }
};

// Softmax attention over the keys `pattern` selects, with the softmax mixer's projections
// (AttentionProjections), so the same spec.seed gives the same weights (a window covering the whole
// sequence is then exactly the softmax mixer): the sliding-window and sparse backends.
// Throws std::invalid_argument on a bad d_model / n_heads.
std::unique_ptr<Mixer> make_masked_attention_mixer(const MixerSpec& spec, std::unique_ptr<AttentionKeyPattern> pattern);

}  // namespace seqbench
