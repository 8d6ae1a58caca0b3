// A KV cache that owns the attention over what it keeps: KV cache policies (eviction, page
// selection, quantisation, sparse prefill; mixers/softmax/kv_policies/) change which keys and
// values attention reads, so the softmax mixer hands such a cache each forward's and each step's
// projections and takes the attention output back. The mixer's own projections stay where they
// are; a managed cache never needs anything else of it. Evaluation only: a forward into a managed
// cache keeps nothing for backward().
#pragma once
#include "models/mixer.h"

namespace seqbench {

struct ManagedKVCache : MixerCache {
  // q, k, v, out: [B, L, H * Dh] (the projections, read as [B, L, H, Dh]). Starts the cached
  // sequences afresh at position 0, as Mixer::forward does with a cache, and leaves position = L.
  virtual void attend_prefill(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out) = 0;
  // q_t, k_t, v_t, out_t: [B, H * Dh], the token at `position`; advances position.
  virtual void attend_step(const Tensor& q_t, const Tensor& k_t, const Tensor& v_t, Tensor& out_t) = 0;
};

}  // namespace seqbench
