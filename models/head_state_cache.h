// The decode state of the matrix-state mixers (gated linear attention, the delta rule): one
// [key_dim, value_dim] state per (sequence, head), head_dim square in both.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "models/mixer.h"

namespace seqbench {

struct HeadStateCache : CopyableCache<HeadStateCache> {
  Tensor state;  // [batch, n_heads, head_dim, head_dim], zero until the first forward or step
  int64_t batch = 0;
};

// std::invalid_argument naming the mixer when batch < 1.
inline std::unique_ptr<MixerCache> make_head_state_cache(const MixerSpec& spec, int batch) {
  if (batch < 1)
    throw std::invalid_argument("mixer '" + spec.kind + "': cache needs batch >= 1, got " + std::to_string(batch));
  auto cache = std::make_unique<HeadStateCache>();
  cache->state = Tensor({batch, spec.n_heads, spec.head_dim(), spec.head_dim()}, spec.device);
  cache->batch = batch;
  return cache;
}

}  // namespace seqbench
