// The decode's plan: how many heads a block streams together, how each group of heads is cut into
// token ranges, stages and blocks per SM, from the device and the tuning (see the header).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "mixers/softmax/softmax_attention_decode_plan.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/once_per_device.cuh"

namespace seqbench {
namespace decode {

DeviceLimits device_limits() {
  return once_per_device<DeviceLimits>("softmax_attention_decode_cuda", [](int device) {
    DeviceLimits l;
    cudaCheck(cudaDeviceGetAttribute(&l.sms, cudaDevAttrMultiProcessorCount, device));
    cudaCheck(cudaDeviceGetAttribute(&l.shared_per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device));
    cudaCheck(cudaDeviceGetAttribute(&l.shared_per_block, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    return l;
  });
}

namespace {

constexpr int kDefaultStages = 4;
constexpr int64_t kDefaultMinSplitRows = 128;    // a range smaller than this is not worth its partial
constexpr int64_t kItemCostRows = 32;            // an item's finish, in the time of streaming this many rows
constexpr int64_t kMergeRowsPerRow = 4;          // a merging block reads this many partial rows per row's time
constexpr size_t kStaticSharedBytes = 10 << 10;  // o_s and the small arrays, with the runtime's reserve

// Splits per column so that every block streams about the same number of rows: the busiest block's
// rounds * (rows per item + item cost) plus the merge of a column's partials is the smallest over
// the split counts tried. Items stay within 8 rounds of the block slots.
struct SplitChoice {
  int64_t splits, cost;
};
// The most splits a column of `heads` heads is cut into: never below 1, and never smaller for a longer
// cache (the workspace bound below relies on that).
int64_t split_limit(int64_t columns, int64_t heads, int64_t len, int64_t slots, int64_t min_rows) {
  return std::max<int64_t>(
      1, std::min({ceil_div(len * heads, min_rows), ceil_div(8 * slots, columns), kMaxMergedPartials / heads, len}));
}

SplitChoice choose_splits(int64_t columns, int64_t heads, int64_t len, int64_t slots, int64_t min_rows) {
  const int64_t max_splits = split_limit(columns, heads, len, slots, min_rows);
  SplitChoice best{1, INT64_MAX};
  for (int64_t s = 1; s <= max_splits; ++s) {
    const int64_t merge = s > 1 ? heads * s / kMergeRowsPerRow : 0;
    const int64_t cost = ceil_div(columns * s, slots) * (ceil_div(len, s) * heads + kItemCostRows) + merge;
    if (cost < best.cost) best = {s, cost};
  }
  return best;
}

// The tuning's choices where it makes them; otherwise heads per block as many as the block's groups
// and H allow, unless fewer heads (more columns) make the busiest block more than 5% faster: short
// caches of one batch row have too few tokens to give every SM a range of all heads.
DecodePlan plan_uncached(const AttentionShape& c, int64_t len, int groups, const DecodeTuning& tuning) {
  const DeviceLimits device = device_limits();
  const int stages = tuning.stages ? tuning.stages : kDefaultStages;
  if (stages < 2 || stages > kMaxStages ||
      stages * kMaxStageBytes + kStaticSharedBytes > size_t(device.shared_per_block))
    throw std::invalid_argument("softmax_attention_decode_cuda: " + std::to_string(stages) +
                                " stages do not fit; SEQBENCH_DECODE_STAGES must be in [2, " +
                                std::to_string(kMaxStages) + "] and fit the device's shared memory per block");
  if (tuning.shared_pipeline > 1)
    throw std::invalid_argument("softmax_attention_decode_cuda: SEQBENCH_DECODE_SHARED must be 1 (or unset), got " +
                                std::to_string(tuning.shared_pipeline));
  const bool shared_pipeline = tuning.shared_pipeline != 0 || tuning.bulk_copy != 0;
  const int direct_rows = tuning.direct_rows ? tuning.direct_rows : kDefaultDirectRows;
  if (direct_rows != 2 && direct_rows != 4 && direct_rows != 8)
    throw std::invalid_argument("softmax_attention_decode_cuda: SEQBENCH_DECODE_DIRECT_ROWS must be 2, 4 or 8, got " +
                                std::to_string(direct_rows));
  // Loads ahead: the tuning's (its 3 is none), else staggered where the rows allow it: the same
  // registers and arithmetic as none, with loads in flight while a step's rows are used.
  if (tuning.direct_ahead > kDecodeTuningNoAhead ||
      (tuning.direct_ahead == kDirectAheadStep && direct_rows > kDefaultDirectRows) ||
      (tuning.direct_ahead == kDirectAheadStaggered && direct_rows < kDefaultDirectRows))
    throw std::invalid_argument("softmax_attention_decode_cuda: SEQBENCH_DECODE_DIRECT_AHEAD must be 1 (with at most " +
                                std::to_string(kDefaultDirectRows) +
                                " SEQBENCH_DECODE_DIRECT_ROWS), 2 (with at least " +
                                std::to_string(kDefaultDirectRows) + "), 3 or unset; got " +
                                std::to_string(tuning.direct_ahead) + " with " + std::to_string(direct_rows) + " rows");
  const int direct_ahead = tuning.direct_ahead == kDecodeTuningNoAhead ? kDirectAheadNone
                           : tuning.direct_ahead                       ? tuning.direct_ahead
                           : direct_rows >= kDefaultDirectRows         ? kDirectAheadStaggered
                                                                       : kDirectAheadNone;
  if (tuning.direct_hint > 3 ||
      (tuning.direct_hint && (direct_rows != kDefaultDirectRows || direct_ahead == kDirectAheadStep)))
    throw std::invalid_argument(
        "softmax_attention_decode_cuda: SEQBENCH_DECODE_DIRECT_HINT must be 1, 2 or 3 (or unset), with " +
        std::to_string(kDefaultDirectRows) + " SEQBENCH_DECODE_DIRECT_ROWS and SEQBENCH_DECODE_DIRECT_AHEAD 2, 3 " +
        "or unset; got " + std::to_string(tuning.direct_hint) + " with " + std::to_string(direct_rows) +
        " rows, ahead " + std::to_string(tuning.direct_ahead));
  const int merge_lanes = tuning.merge_lanes ? tuning.merge_lanes : 32;
  if (merge_lanes > 32 || (merge_lanes & (merge_lanes - 1)))
    throw std::invalid_argument(
        "softmax_attention_decode_cuda: SEQBENCH_DECODE_MERGE_LANES must be 1, 2, 4, 8, 16 or 32 (or unset), got " +
        std::to_string(tuning.merge_lanes));
  // Direct loads keep only the combine arrays in shared memory: the registers bound the blocks.
  const int fit = shared_pipeline
                      ? static_cast<int>(device.shared_per_sm / (stages * kMaxStageBytes + kStaticSharedBytes))
                      : direct_blocks_per_sm(direct_rows, direct_ahead);
  const int blocks_per_sm = tuning.blocks_per_sm ? tuning.blocks_per_sm : std::min(kMaxBlocksPerSm, fit);
  const int64_t slots = int64_t{device.sms} * blocks_per_sm;
  const int64_t min_rows = tuning.min_split_rows ? tuning.min_split_rows : kDefaultMinSplitRows;
  const int64_t pairs = c.batch * c.heads;
  const int prefetch = tuning.l2_prefetch_bytes;
  if (tuning.bulk_copy > 1)
    throw std::invalid_argument("softmax_attention_decode_cuda: SEQBENCH_DECODE_BULK must be 1 (or unset), got " +
                                std::to_string(tuning.bulk_copy));
  if (prefetch != 0 && prefetch != 64 && prefetch != 128 && prefetch != 256)
    throw std::invalid_argument(
        "softmax_attention_decode_cuda: SEQBENCH_DECODE_L2_PREFETCH must be 64, 128 or 256, got " +
        std::to_string(prefetch));

  int max_shift = 0;  // heads per block: a power of two dividing H, at most the groups and the tuning's
  while ((int64_t{2} << max_shift) <= groups && c.heads % (int64_t{2} << max_shift) == 0 &&
         (!tuning.heads_per_block || (int64_t{2} << max_shift) <= tuning.heads_per_block))
    ++max_shift;
  int head_shift = max_shift;
  SplitChoice best = choose_splits(pairs >> max_shift, int64_t{1} << max_shift, len, slots, min_rows);
  for (int shift = max_shift - 1; shift >= 0 && !tuning.heads_per_block; --shift) {
    const SplitChoice other = choose_splits(pairs >> shift, int64_t{1} << shift, len, slots, min_rows);
    if (other.cost * 105 < best.cost * 100) best = other, head_shift = shift;
  }
  int64_t splits = best.splits;
  if (tuning.splits) {
    splits = std::min<int64_t>(tuning.splits, len);
    if (splits << head_shift > kMaxMergedPartials)
      throw std::invalid_argument(
          "softmax_attention_decode_cuda: SEQBENCH_DECODE_SPLITS=" + std::to_string(tuning.splits) + " with " +
          std::to_string(1 << head_shift) + " heads per block exceeds the merge's " +
          std::to_string(kMaxMergedPartials) + " partials; use fewer splits or SEQBENCH_DECODE_HEADS");
  }
  const int64_t items = (pairs >> head_shift) * splits;
  if (items > INT_MAX)
    throw std::invalid_argument("softmax_attention_decode_cuda: batch * heads must be below 2^31 / 8, got " +
                                std::to_string(pairs));
  const int64_t rounds = ceil_div(items, slots);
  // The most partial rows any head count tried could take: each term grows with len, so a workspace
  // sized for this len serves every shorter one, whichever head count the plan picks there.
  int64_t partial_rows = 0;
  for (int shift = 0; shift <= max_shift; ++shift) {
    const int64_t limit = tuning.splits ? std::min<int64_t>(tuning.splits, len)
                                        : split_limit(pairs >> shift, int64_t{1} << shift, len, slots, min_rows);
    partial_rows = std::max(partial_rows, pairs * limit);
  }
  return {head_shift,
          static_cast<int>(splits),
          static_cast<int>(items),
          static_cast<int>(ceil_div(items, rounds)),
          stages,
          blocks_per_sm,
          prefetch,
          tuning.bulk_copy != 0,
          shared_pipeline,
          direct_rows,
          direct_ahead,
          tuning.direct_hint,
          merge_lanes,
          pairs,
          partial_rows};
}

}  // namespace

// The last plan of this thread, kept: the search costs more host time than a short decode runs.
DecodePlan plan_decode(const AttentionShape& c, int64_t len, int groups) {
  struct Key {
    int64_t batch, heads, len;
    int groups, device;
    DecodeTuning tuning;
    bool operator==(const Key& o) const {
      const DecodeTuning &a = tuning, &b = o.tuning;
      return batch == o.batch && heads == o.heads && len == o.len && groups == o.groups && device == o.device &&
             a.heads_per_block == b.heads_per_block && a.stages == b.stages && a.blocks_per_sm == b.blocks_per_sm &&
             a.splits == b.splits && a.min_split_rows == b.min_split_rows &&
             a.l2_prefetch_bytes == b.l2_prefetch_bytes && a.bulk_copy == b.bulk_copy &&
             a.shared_pipeline == b.shared_pipeline && a.direct_rows == b.direct_rows &&
             a.direct_ahead == b.direct_ahead && a.direct_hint == b.direct_hint && a.merge_lanes == b.merge_lanes;
    }
  };
  thread_local Key last_key{-1, -1, -1, 0, 0, {}};
  thread_local DecodePlan last_plan{};
  Key key{c.batch, c.heads, len, groups, 0, decode_tuning()};
  cudaCheck(cudaGetDevice(&key.device));
  if (!(key == last_key)) last_plan = plan_uncached(c, len, groups, key.tuning), last_key = key;
  return last_plan;
}

// The arrival counters, then (with more than one split) each partial's (m, l), then its output row;
// every part starts 16-byte aligned. The size is that of the most partials a call at this len or
// any shorter one can plan (partial_rows_bound), so one workspace serves a growing cache.
int64_t counter_floats(int64_t pairs) { return ceil_div(pairs, 4) * 4; }
int64_t ml_floats(const DecodePlan& p) { return p.splits > 1 ? ceil_div(2 * p.pairs * p.splits, 4) * 4 : 0; }
int64_t workspace_floats(const DecodePlan& p, int64_t head_dim) {
  return counter_floats(p.pairs) + ceil_div(2 * p.partial_rows_bound, 4) * 4 + p.partial_rows_bound * head_dim;
}

}  // namespace decode
}  // namespace seqbench
