#!/usr/bin/env bash
# The decode rows of seqbench_gpu_bench under each SEQBENCH_DECODE_* setting worth comparing (see
# mixers/softmax/softmax_attention_decode_tuning.h), most telling first; each row names its plan.
#   bench_gpu/decode_sweep.sh BIN_DIR
set -u
bench=${1:?binary folder}/seqbench_gpu_bench
settings=(
  ""  # the plan's own choices: direct loads staggered (K reloaded once scored, V once used), lanes sharing merge pieces
  "SEQBENCH_DECODE_DIRECT_AHEAD=3 SEQBENCH_DECODE_MERGE_LANES=1"  # the default before: loads drained each step, a lane a merge piece
  SEQBENCH_DECODE_DIRECT_HINT=1  # staggered, evict-first L2 policy on the cache loads
  SEQBENCH_DECODE_DIRECT_HINT=2  # staggered, L2::256B prefetch on the cache loads
  SEQBENCH_DECODE_DIRECT_HINT=3  # both hints
  SEQBENCH_DECODE_DIRECT_AHEAD=3  # loads drained each step, lanes sharing merge pieces: the merge's part alone
  SEQBENCH_DECODE_MERGE_LANES=1  # staggered loads, a lane a merge piece: the loads' part alone
  SEQBENCH_DECODE_DIRECT_ROWS=8  # staggered at twice the rows in flight per thread, two blocks per SM
  "SEQBENCH_DECODE_DIRECT_ROWS=8 SEQBENCH_DECODE_DIRECT_AHEAD=3"  # 8 rows drained each step, as before
  SEQBENCH_DECODE_HEADS=4  # more columns, fewer splits each: a smaller merge per column
  SEQBENCH_DECODE_HEADS=8
  SEQBENCH_DECODE_SHARED=1  # the shared-memory cp.async pipeline, the default before direct loads
  SEQBENCH_DECODE_DIRECT_ROWS=2
  SEQBENCH_DECODE_DIRECT_AHEAD=1  # the next rows loaded while a step's are used, two blocks per SM
  "SEQBENCH_DECODE_DIRECT_AHEAD=1 SEQBENCH_DECODE_DIRECT_ROWS=2"
  SEQBENCH_DECODE_BULK=1  # tiles through the bulk copy engine (a shared-memory path)
  "SEQBENCH_DECODE_BULK=1 SEQBENCH_DECODE_STAGES=8"
  SEQBENCH_DECODE_HEADS=1  # each head streamed on its own: 256-byte rows at the cache's row stride
  SEQBENCH_DECODE_BLOCKS_PER_SM=2
  SEQBENCH_DECODE_SPLITS=24  # one round at B = 16 (the plan takes 49 in two rounds from 16k on)
  SEQBENCH_DECODE_MIN_SPLIT_ROWS=512
  SEQBENCH_DECODE_MIN_SPLIT_ROWS=2048
  "SEQBENCH_DECODE_SHARED=1 SEQBENCH_DECODE_HEADS=1"
  "SEQBENCH_DECODE_SHARED=1 SEQBENCH_DECODE_L2_PREFETCH=256"
  "SEQBENCH_DECODE_SHARED=1 SEQBENCH_DECODE_L2_PREFETCH=128"
  "SEQBENCH_DECODE_SHARED=1 SEQBENCH_DECODE_STAGES=3"
  "SEQBENCH_DECODE_SHARED=1 SEQBENCH_DECODE_STAGES=8"
  "SEQBENCH_DECODE_SHARED=1 SEQBENCH_DECODE_BLOCKS_PER_SM=2"
)
for setting in "${settings[@]}"; do
  echo "## ${setting:-planned}"
  # shellcheck disable=SC2086  # a setting is one or more NAME=value words
  env $setting "$bench" --groups softmax_decode | grep "decode"
done
