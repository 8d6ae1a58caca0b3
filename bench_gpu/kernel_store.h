// seqbench_gpu_bench --db: one run of the GPU benchmark in the results store, so `seqbench compare`
// and `seqbench gate` read it like any other run.
//
// Cells (task "gpu_kernel", params {"key", "anchor_key", "shape", "dtype", "benchmark": the label}):
//   - one per row of ours, backend = the row's family: kernel_ms (every repetition), kernel_tflops,
//     kernel_gb_per_s, kernel_compute_fraction, kernel_bandwidth_fraction, and speed_vs_anchor
//     when the anchor ran;
//   - one per anchor result of a row's anchor_key (task "gpu_anchor", backend = the anchor's impl):
//     anchor_ms, anchor_tflops, anchor_gb_per_s; a failed cell carrying the anchor's error when it
//     did not run. Anchor metrics are informational: a gate never fails on someone else's kernel.
#pragma once
#include <cstdint>
#include <vector>

#include "bench_gpu/kernel_report.h"
#include "harness/results_store.h"

namespace seqbench {

// Stores the run (begin_run, one transaction per cell, finish_run ok) and returns its id.
int64_t store_kernel_run(ResultsStore& store, const RunInfo& info, const std::vector<ReportLine>& lines,
                         const AnchorFile& anchors, const DeviceLimits& limits);

}  // namespace seqbench
