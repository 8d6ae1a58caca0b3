// The producer of the Hopper attention forward (softmax_attention_hopper_cuda.cu and its persistent
// form, softmax_attention_hopper_persistent_cuda.cu): one thread issues TMA loads of a Q tile and
// of the K/V tiles a query block visits into the two-stage ring, each completing an mbarrier's
// transaction count. Ring steps are counted across a CTA's tiles (step0), so the slot and phase
// of a load follow from its step alone. Device code for sm_90a only.
#pragma once
#include <cstdint>

#include "mixers/softmax/sink_window_key_tiles.h"
#include "mixers/softmax/softmax_attention_hopper_layout.cuh"
#include "ops/cuda/hopper/async_copy.cuh"

namespace seqbench {
namespace hopper_attention {

// The key tiles query block q_block visits: 0 .. q_block (causal), all (none), or the sink +
// window subset (sinks, window clamped to [.., L]). Causal and full visit tiles 0, 1, ...
template <KeyMask kMask>
__device__ __forceinline__ KeyTiles key_tiles_of(int q_block, int L, int sinks, int window) {
  if constexpr (kMask == KeyMask::sink_window) return sink_window_key_tiles(q_block, kBlockN, sinks, window);
  if constexpr (kMask == KeyMask::causal) return KeyTiles{0, 0, q_block + 1};
  return KeyTiles{0, 0, (L + kBlockN - 1) / kBlockN};
}

#if SEQBENCH_HOPPER_WGMMA
namespace hp = hopper;

// The K/V ring's barriers, by one thread before the block's first sync: a slot is full on the
// producer's one arrival (with its TMA bytes), empty once every consumer thread has arrived.
__device__ __forceinline__ void init_ring_barriers(const Barriers& bar) {
  for (int s = 0; s < kStages; ++s) {
    hp::barrier_init(bar.k_full + s, 1);
    hp::barrier_init(bar.v_full + s, 1);
    hp::barrier_init(bar.empty + s, 128 * kConsumers);
  }
}

// The 128 query rows from q0 of head h, batch b into Q buffer `buffer`, completing q_full[buffer].
template <int D, int kQBuffers>
__device__ __forceinline__ void load_q(const CUtensorMap* q_map, unsigned char* smem, const Barriers& bar, int buffer,
                                       int q0, int h, int b) {
  using Layout = SmemLayout<D, kQBuffers>;
  uint64_t* full = bar.q_full + buffer;
  hp::barrier_arrive_expect_bytes(full, Layout::kTileBytes);
#pragma unroll
  for (int c = 0; c < D / 64; ++c)
    hp::tma_load_4d(smem + Layout::q + buffer * Layout::kTileBytes + c * Layout::kSubTileBytes, q_map, 64 * c, q0, h, b,
                    full);
}

// The K and V tiles of `tiles` for head h, batch b, as ring steps step0, step0 + 1, ...: each waits
// until the consumers have released the slot's previous round.
template <int D, int kQBuffers>
__device__ __forceinline__ void load_key_tiles(const CUtensorMap* k_map, const CUtensorMap* v_map, unsigned char* smem,
                                               const Barriers& bar, int h, int b, const KeyTiles& tiles, int step0) {
  using Layout = SmemLayout<D, kQBuffers>;
  for (int j = 0; j < tiles.count; ++j) {
    const int step = step0 + j, s = step % kStages, key0 = tiles.tile(j) * kBlockN;
    const uint32_t parity = (step / kStages) & 1;
    hp::barrier_wait(bar.empty + s, parity ^ 1);  // the consumers are done with round step / kStages - 1
    hp::barrier_arrive_expect_bytes(bar.k_full + s, Layout::kTileBytes);
#pragma unroll
    for (int c = 0; c < D / 64; ++c)
      hp::tma_load_4d(smem + Layout::k + s * Layout::kTileBytes + c * Layout::kSubTileBytes, k_map, 64 * c, key0, h, b,
                      bar.k_full + s);
    hp::barrier_arrive_expect_bytes(bar.v_full + s, Layout::kTileBytes);
#pragma unroll
    for (int c = 0; c < D / 64; ++c)
      hp::tma_load_4d(smem + Layout::v + s * Layout::kTileBytes + c * Layout::kSubTileBytes, v_map, 64 * c, key0, h, b,
                      bar.v_full + s);
  }
}

#endif  // SEQBENCH_HOPPER_WGMMA

}  // namespace hopper_attention
}  // namespace seqbench
