// The plan of a one-token decode (softmax_attention_decode_cuda): heads per block, token ranges per
// group of heads, pipeline stages, blocks per SM and grid, from the current device and the process's
// DecodeTuning; and the workspace those need.
#pragma once
#include <cstddef>
#include <cstdint>

#include "mixers/softmax/softmax_attention.h"
#include "mixers/softmax/softmax_attention_decode_tuning.h"

namespace seqbench {
namespace decode {

constexpr int kMaxStages = 12;               // the bulk path keeps a barrier a stage
constexpr int kMaxBlocksPerSm = 3;           // resident blocks the registers allow (__launch_bounds__)
constexpr int kDefaultDirectRows = 4;        // rows of K and of V a thread loads at once on the direct path
constexpr size_t kMaxStageBytes = 16 << 10;  // a stage's K and V rows, on any path
constexpr int kMaxMergedPartials = 1024;     // heads per block * splits: their (m, l) fit the merge's shared memory

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
// The direct path's loads ahead (DecodeTuning::direct_ahead): none, the whole next step (two sets
// of registers), or staggered (K reloaded once scored, V once used: one set).
constexpr int kDirectAheadNone = 0, kDirectAheadStep = 1, kDirectAheadStaggered = 2;
// Blocks per SM the direct path's registers allow with `rows` rows of K and V in flight a thread,
// twice that with the whole next step loaded ahead.
constexpr int direct_blocks_per_sm(int rows, int ahead) {
  return rows * (ahead == kDirectAheadStep ? 2 : 1) > kDefaultDirectRows ? 2 : kMaxBlocksPerSm;
}

// What the plan needs of the current device, asked once per device.
struct DeviceLimits {
  int sms, shared_per_sm, shared_per_block;
};
DeviceLimits device_limits();

struct DecodePlan {
  int head_shift, splits, items, grid, stages, blocks_per_sm;  // 1 << head_shift heads per block
  int l2_prefetch;                                             // bytes, 0 for no hint
  bool bulk_copy;                                              // tiles through the bulk copy engine
  bool shared_pipeline;  // tiles staged in shared memory; otherwise rows loaded straight into registers
  int direct_rows;       // rows of K and V in flight per thread on the direct path
  int direct_ahead;      // kDirectAhead*: how the next step's rows are loaded while this one's are used
  int direct_hint;       // the direct loads' L2 hints: bits kHintEvictFirst, kHintPrefetch256
  int merge_lanes;       // direct path: the most lanes of the merge that share a piece's splits
  int64_t pairs;                                               // batch * heads
  // Partial results the plan of this len or of any shorter one can need: what the workspace holds.
  int64_t partial_rows_bound;
};
inline int64_t heads_per_block(const DecodePlan& p) { return int64_t{1} << p.head_shift; }

// groups: the lane groups of the kernel that will run (heads per block is at most that).
DecodePlan plan_decode(const AttentionShape& cache, int64_t len, int groups);

int64_t counter_floats(int64_t pairs);
int64_t ml_floats(const DecodePlan& plan);
int64_t workspace_floats(const DecodePlan& plan, int64_t head_dim);

}  // namespace decode
}  // namespace seqbench
