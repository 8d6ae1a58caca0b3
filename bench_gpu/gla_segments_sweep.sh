#!/usr/bin/env bash
# The forward rows that run the fused scalar-GLA walk (scalar GLA, bf16 SSD, unnormalised linear attention) under
# each SEQBENCH_GLA_SCALAR_FWD_SEGMENTS setting (off: one walk per head and value tile; auto; fixed counts), one
# process each, so one call compares the segmented walk with the single one on the same GPU. The rows keep their
# names: the "## " line above each block says which setting ran.
#   bench_gpu/gla_segments_sweep.sh BIN_DIR [LENGTHS]     (LENGTHS default 16384, e.g. 4096,16384)
set -u
bench=${1:?binary folder}/seqbench_gpu_bench
lengths=${2:-16384}
for setting in off auto 2 3 4; do
  echo "## SEQBENCH_GLA_SCALAR_FWD_SEGMENTS=$setting"
  SEQBENCH_GLA_SCALAR_FWD_SEGMENTS=$setting "$bench" --groups gla,ssm,linear --lengths "$lengths" |
    grep -E "scalar-gated linear attention \(tensor cores|Mamba-2 SSD \(tensor cores|linear attention, chunked" |
    grep -E "fwd"
done
