// The knobs of the one-token decode kernel that change its speed and nothing but float rounding:
// how many heads a block streams together, pipeline depth, blocks per SM and how the cache is cut.
// A process takes them from environment variables on first use; tests set them directly.
#pragma once
#include <string>

namespace seqbench {

// DecodeTuning::direct_ahead's "no loads ahead" (its 0 lets the plan choose).
constexpr int kDecodeTuningNoAhead = 3;

// 0 in any field: the plan decides. Environment (positive integers): SEQBENCH_DECODE_HEADS,
// SEQBENCH_DECODE_STAGES, SEQBENCH_DECODE_BLOCKS_PER_SM, SEQBENCH_DECODE_SPLITS,
// SEQBENCH_DECODE_MIN_SPLIT_ROWS, SEQBENCH_DECODE_L2_PREFETCH, SEQBENCH_DECODE_BULK,
// SEQBENCH_DECODE_SHARED, SEQBENCH_DECODE_DIRECT_ROWS, SEQBENCH_DECODE_DIRECT_AHEAD,
// SEQBENCH_DECODE_DIRECT_HINT, SEQBENCH_DECODE_MERGE_LANES.
struct DecodeTuning {
  // Heads of one batch row a block streams together, at most this many: the largest power of two
  // that divides H and is at most both this and the block's lane groups. A token's rows of those
  // heads are one contiguous run of the [B, L, H, D] cache; 1 streams each head on its own.
  int heads_per_block = 0;
  int stages = 0;          // cp.async stages of about 16 KiB (K and V rows), 2 to 12; 0: 4
  int blocks_per_sm = 0;   // blocks the plan keeps resident per SM; 0: as many as fit, at most 3
  int splits = 0;          // token ranges per (batch, head group); 0: planned from the SM count
  int min_split_rows = 0;  // fewest cache rows (tokens x heads) a range is cut to; 0: 128
  // Bytes L2 may read from DRAM around each 16-byte load (cp.async's L2::NB hint): 64, 128 or 256;
  // 0: no hint.
  int l2_prefetch_bytes = 0;
  // 1: tiles come through the bulk copy engine (one thread a copy, an mbarrier a stage) where the
  // stage rows are exactly head_dim long; 0: 16-byte cp.async copies by every thread. Either way the
  // tiles go through shared memory (bulk_copy 1 implies shared_pipeline 1).
  int bulk_copy = 0;
  // 1: the cache streams through the shared-memory stage pipeline (cp.async or bulk copies, the
  // stages, L2 prefetch hints above; the default before direct loads). 0: every thread loads its
  // own K and V rows straight into registers (16-byte ld.global.nc, several rows in flight), with no
  // shared memory or stages between; stages and the L2 prefetch hint then change nothing.
  int shared_pipeline = 0;
  // Direct loads: rows of K and of V each thread has in flight at once (its share of a row is 16
  // bytes for bf16 at head_dim 128), 2, 4 or 8; 8 takes the registers of two blocks per SM instead
  // of three. 0: 4.
  int direct_rows = 0;
  // Direct loads: 1 loads the next step's rows while this step's are used (twice the registers:
  // two blocks per SM at 4 rows, three at 2; not with 8), so a thread's loads never all drain.
  // 2 staggers K and V in one set of registers (4 or 8 rows): the next step's K is loaded once this
  // step's scores are taken, its V once this step's V was used, so one of the two is always in
  // flight, at the blocks per SM of no loads ahead; same arithmetic, same bits as 3. 3: none, each
  // step's rows loaded once the last step's were used (the default before). 0: 2 at 4 or 8 rows,
  // 3 at 2.
  int direct_ahead = 0;
  // Direct loads at 4 rows, not with direct_ahead 1: L2 hints on the 16-byte loads, as bits.
  // 1: an evict-first L2 policy (the cache is read once; partials and counters keep their lines);
  // 2: L2::256B, L2 fetches the whole 256-byte block around a missed sector; 3: both. 0: none.
  int direct_hint = 0;
  // Direct loads: the most lanes that share one output piece of the fused merge, each taking every
  // n-th split, their sums added by a butterfly: 1, 2, 4, 8, 16 or 32. A column with fewer pieces
  // than the block's threads (few heads a block, as at batch 1) otherwise leaves most lanes idle and
  // the rest walking all splits at 8 or 16 loads in flight. 1: a lane a piece, the merge before.
  // 0: 32. (The shared-memory pipeline always takes 1.)
  int merge_lanes = 0;
};

// The process's tuning: the environment's, read once, unless set_decode_tuning replaced it.
DecodeTuning decode_tuning();
void set_decode_tuning(const DecodeTuning& tuning);

// "heads 16, stages 4, ..." with only the fields that are set, or "planned".
std::string decode_tuning_text(const DecodeTuning& tuning);

// Sets the process's tuning for a scope (tests, and bench rows timing two paths in one run).
class DecodeTuningScope {
 public:
  explicit DecodeTuningScope(const DecodeTuning& tuning) : previous_(decode_tuning()) { set_decode_tuning(tuning); }
  ~DecodeTuningScope() { set_decode_tuning(previous_); }
  DecodeTuningScope(const DecodeTuningScope&) = delete;
  DecodeTuningScope& operator=(const DecodeTuningScope&) = delete;

 private:
  DecodeTuning previous_;
};

}  // namespace seqbench
