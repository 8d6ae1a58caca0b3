#!/usr/bin/env bash
# The decode rows of seqbench_gpu_bench under each SEQBENCH_DECODE_* setting worth comparing (see
# mixers/softmax/softmax_attention_decode_tuning.h), most telling first; each row names its plan.
#   bench_gpu/decode_sweep.sh BIN_DIR
set -u
bench=${1:?binary folder}/seqbench_gpu_bench
settings=(
  ""  # the plan's own choices: rows loaded straight into registers
  SEQBENCH_DECODE_SHARED=1  # the shared-memory cp.async pipeline, the default before direct loads
  SEQBENCH_DECODE_DIRECT_ROWS=8  # twice the rows in flight per thread, two blocks per SM
  SEQBENCH_DECODE_DIRECT_ROWS=2
  SEQBENCH_DECODE_DIRECT_AHEAD=1  # the next rows loaded while a step's are used, two blocks per SM
  "SEQBENCH_DECODE_DIRECT_AHEAD=1 SEQBENCH_DECODE_DIRECT_ROWS=2"
  SEQBENCH_DECODE_BULK=1  # tiles through the bulk copy engine (a shared-memory path)
  "SEQBENCH_DECODE_BULK=1 SEQBENCH_DECODE_STAGES=8"
  SEQBENCH_DECODE_HEADS=1  # each head streamed on its own: 256-byte rows at the cache's row stride
  SEQBENCH_DECODE_HEADS=4
  SEQBENCH_DECODE_HEADS=8
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
