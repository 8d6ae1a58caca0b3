// Groups of rows for seqbench_gpu_bench, each registered by the folder that owns its kernels (a
// mixer's <name>_gpu_bench.cpp); the bench runs every registered group in name order, or those that
// SEQBENCH_GPU_BENCH_GROUPS names (comma-separated).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "bench_gpu/anchor_row.h"
#include "bench_gpu/gpu_bench_timer.h"

namespace seqbench {

using GpuBenchRows = void (*)(GpuBenchTimer& timer, std::vector<AnchorRow>& rows);

// A static object of this type adds its group at start-up (the bench links every *_gpu_bench.cpp).
struct GpuBenchGroup {
  GpuBenchGroup(std::string name, GpuBenchRows rows);
};

const std::vector<std::pair<std::string, GpuBenchRows>>& gpu_bench_groups();

}  // namespace seqbench
