#!/usr/bin/env bash
# The softmax attention rows of seqbench_gpu_bench under every forward schedule and every backward
# variant (SEQBENCH_ATTENTION_FWD, SEQBENCH_ATTENTION_BWD_KERNEL; see bench_gpu/README.md), one process
# each, so one call compares them all on the same GPU; each row names the variant it ran.
#   bench_gpu/softmax_sweep.sh BIN_DIR [LENGTHS]     (LENGTHS default 4096, e.g. 4096,16384)
set -u
bench=${1:?binary folder}/seqbench_gpu_bench
lengths=${2:-4096}
forward=(hopper_persistent hopper_pingpong hopper_persistent_overlap hopper_pingpong_overlap hopper portable)
backward=(hopper_first_overlap hopper_heavy_first hopper_heavy_first_fused hopper_fa3_tile hopper_fa3_bulk_dq
          hopper_fa3_tiled_dq hopper_fa3_two_stage hopper_undrained
          hopper_float2_dq hopper hopper_dq_before_dk hopper_unfolded_delta hopper_bulk_dq hopper_serial
          hopper_serial_bulk_dq portable)
for variant in "${forward[@]}"; do
  echo "## SEQBENCH_ATTENTION_FWD=$variant"
  SEQBENCH_ATTENTION_FWD=$variant "$bench" --groups softmax --lengths "$lengths" | grep -E "softmax attention fwd"
done
for variant in "${backward[@]}"; do
  echo "## SEQBENCH_ATTENTION_BWD_KERNEL=$variant"
  SEQBENCH_ATTENTION_BWD_KERNEL=$variant "$bench" --groups softmax --lengths "$lengths" | grep -E "softmax attention bwd"
done
