// Anchor rows for the recurrent scans at ANCHORS.md's shapes (B=16, L=4096, 16 heads of 128; SSD
// 32 heads of 64 with state 128): per-channel and scalar gated linear attention, the delta rule and
// Mamba-2's SSD, forward and backward. These kernels are fp32 (the anchors are bf16 Triton).
#pragma once
#include <vector>

#include "bench_gpu/anchor_row.h"
#include "bench_gpu/gpu_bench_timer.h"

namespace seqbench {

void recurrent_mixer_rows(GpuBenchTimer& timer, std::vector<AnchorRow>& rows);

}  // namespace seqbench
