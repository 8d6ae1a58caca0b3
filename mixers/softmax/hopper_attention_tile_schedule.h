// The order in which the persistent Hopper attention forward (softmax_attention_hopper_persistent_cuda.cu)
// visits its (query block, batch * head) tiles, and which CTA takes which. Checked for coverage
// (every tile exactly once) and order in test_hopper_attention_tile_schedule.cpp.
//
// Tiles are numbered in visiting order: heads in groups of group_heads (as many as keep their K/V
// in L2 together; the last group may be smaller), within a group the query blocks in order, within
// a block the group's heads. The tiles running at one time then share a few heads' K/V and cost
// about the same. The last group runs its query blocks from the last (longest causal rows) to the
// first, so the run ends on the lightest tiles, and the groups before it alternate direction, so the
// cost of tile t changes smoothly with t (a triangle wave, no jump from the lightest tile back to the
// heaviest at a group's end). CTA c of `ctas` takes tiles in rounds of `ctas`: tile c of even
// rounds and tile ctas - 1 - c of odd ones (a snake), so a CTA that drew the heaviest tile of one
// round draws the lightest of the next and the CTAs' totals stay even.
#pragma once
#include <cstdint>

#ifdef __CUDACC__
#define SEQBENCH_TILE_SCHEDULE_HD __host__ __device__ __forceinline__
#else
#define SEQBENCH_TILE_SCHEDULE_HD inline
#endif

namespace seqbench {

struct HopperTileSchedule {
  int q_blocks = 1, heads_total = 1, group_heads = 1, ctas = 1;

  SEQBENCH_TILE_SCHEDULE_HD int tiles() const { return q_blocks * heads_total; }

  // The tile CTA `cta` visits in round `round` (its round-th tile), or -1 when it has none left.
  SEQBENCH_TILE_SCHEDULE_HD int tile_of(int cta, int round) const {
    const int64_t t = static_cast<int64_t>(round) * ctas + (round % 2 == 0 ? cta : ctas - 1 - cta);
    return t < tiles() ? static_cast<int>(t) : -1;
  }

  // Tile t's batch * head index and query block.
  SEQBENCH_TILE_SCHEDULE_HD void locate(int t, int& bh, int& q_block) const {
    const int group_tiles = group_heads * q_blocks, group = t / group_tiles, within = t - group * group_tiles;
    const int groups = (heads_total + group_heads - 1) / group_heads, first_head = group * group_heads;
    const int heads = heads_total - first_head < group_heads ? heads_total - first_head : group_heads;
    const int step = within / heads;  // the group's step-th query block in its direction
    q_block = (groups - 1 - group) % 2 == 0 ? q_blocks - 1 - step : step;
    bh = first_head + within % heads;
  }
};

// The L2 share for the K/V of the heads that run together (FlashAttention-3's tile scheduler takes
// the same 32 MiB of an H100's 50).
constexpr int64_t kHopperTileL2Budget = int64_t{32} << 20;

// Heads per group: as many as keep their K and V (L keys x D x 2 tensors x 2 bytes each) within
// the L2 budget (at least one), evened out over the groups that takes.
inline int hopper_tile_group_heads(int64_t seq_len, int64_t head_dim, int64_t heads_total,
                                   int64_t l2_budget = kHopperTileL2Budget) {
  if (heads_total < 1) return 1;
  const int64_t per_head = seq_len * head_dim * 2 * 2, fit = per_head > 0 ? l2_budget / per_head : heads_total;
  const int64_t most = fit < 1 ? 1 : fit > heads_total ? heads_total : fit;
  const int64_t groups = (heads_total + most - 1) / most;
  return static_cast<int>((heads_total + groups - 1) / groups);
}

}  // namespace seqbench
