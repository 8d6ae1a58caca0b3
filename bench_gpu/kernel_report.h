// Figures derived from one seqbench_gpu_bench run, and its printers (Markdown, CSV, JSON): FLOP/s,
// GB/s and the fraction of the device's limits beside every time, and ours / anchor when the
// anchor file has the row's shape. The limits are the ceiling rows measured in the same run.
#pragma once
#include <string>
#include <vector>

#include "bench_gpu/anchor_results.h"
#include "bench_gpu/anchor_row.h"

namespace seqbench {

// The best bf16 GEMM FLOP rate and copy bandwidth this run measured (its "ceiling.gemm" and
// "ceiling.copy" rows and the anchors' rows of the same keys); 0 when not measured.
struct DeviceLimits {
  double tflops = 0;
  double gb_per_s = 0;
};
DeviceLimits measured_limits(const std::vector<AnchorRow>& rows, const AnchorFile& anchors);

struct KernelFigures {
  double ms = 0, tflops = 0, gb_per_s = 0;
  double compute_fraction = 0, bandwidth_fraction = 0;  // 0 when the limit was not measured
};
KernelFigures kernel_figures(const WorkCount& work, double ms, const DeviceLimits& limits);

// One printed line: our figures and, when it ran, the fastest anchor's.
struct ReportLine {
  const AnchorRow* row = nullptr;
  KernelFigures ours;
  const AnchorResult* anchor = nullptr;  // null: no anchor file, no key, or every anchor failed
  KernelFigures theirs;
  double speed = 0;                      // anchor time / our time; 0 without an anchor
  std::string anchor_note;               // why there is no anchor figure ("" when there is one)
};
std::vector<ReportLine> report_lines(const std::vector<AnchorRow>& rows, const AnchorFile& anchors,
                                     const DeviceLimits& limits);

std::string markdown_report(const std::vector<ReportLine>& lines, const DeviceLimits& limits);
std::string csv_report(const std::vector<ReportLine>& lines);
std::string json_report(const std::vector<ReportLine>& lines, const DeviceLimits& limits);

}  // namespace seqbench
