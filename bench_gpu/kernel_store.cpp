#include "bench_gpu/kernel_store.h"

#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "harness/timing_stats.h"

namespace seqbench {
namespace {

// A figure per timed repetition, so compare and gate see a rate's spread as well as the time's.
std::vector<double> per_sample(const std::vector<double>& samples_ms, const std::function<double(double)>& figure) {
  std::vector<double> out;
  for (double ms : samples_ms) out.push_back(figure(ms));
  return out;
}

// The work count stays out of the parameters: a change in how FLOPs are counted must not stop a
// kernel's cells from matching across runs ("benchmark" is the label compare and gate print).
CellRecord kernel_cell(const std::string& backend, const std::string& task, const std::string& label,
                       nlohmann::json params, int64_t seq_len) {
  CellRecord cell;
  cell.backend = backend;
  cell.task = task;
  cell.seq_len = seq_len;
  params["benchmark"] = label;
  cell.params_json = params.dump();
  return cell;
}

// <prefix>_ms, <prefix>_tflops and <prefix>_gb_per_s of one set of repetitions.
std::vector<Metric> time_and_rates(const std::string& prefix, const std::vector<double>& samples_ms,
                                   const WorkCount& work) {
  return {make_metric(prefix + "_ms", samples_ms),
          make_metric(prefix + "_tflops", per_sample(samples_ms, [&](double ms) { return tflops_per_s(work, ms); })),
          make_metric(prefix + "_gb_per_s", per_sample(samples_ms, [&](double ms) { return gb_per_s(work, ms); }))};
}

std::vector<Metric> our_metrics(const ReportLine& line, const DeviceLimits& limits) {
  const AnchorRow& row = *line.row;
  std::vector<Metric> metrics = time_and_rates("kernel", row.samples_ms, row.work);
  if (limits.tflops > 0)
    metrics.push_back(make_metric("kernel_compute_fraction", per_sample(row.samples_ms, [&](double ms) {
                                    return kernel_figures(row.work, ms, limits).compute_fraction;
                                  })));
  if (limits.gb_per_s > 0)
    metrics.push_back(make_metric("kernel_bandwidth_fraction", per_sample(row.samples_ms, [&](double ms) {
                                    return kernel_figures(row.work, ms, limits).bandwidth_fraction;
                                  })));
  if (line.anchor)
    metrics.push_back(
        make_metric("speed_vs_anchor", per_sample(row.samples_ms, [&](double ms) { return line.anchor->ms / ms; })));
  return metrics;
}

}  // namespace

int64_t store_kernel_run(ResultsStore& store, const RunInfo& info, const std::vector<ReportLine>& lines,
                         const AnchorFile& anchors, const DeviceLimits& limits) {
  const int64_t run = store.begin_run(info);
  std::set<std::string> anchor_keys_stored;  // two of our rows may share an anchor (normalised or not)
  for (const ReportLine& line : lines) {
    const AnchorRow& row = *line.row;
    const nlohmann::json params{{"key", row.key}, {"anchor_key", row.anchor_key}, {"shape", row.shape},
                                {"dtype", row.dtype}};
    store.add_cell(run, kernel_cell(row.family, "gpu_kernel", row.key, params, row.seq_len), our_metrics(line, limits));
    if (!anchor_keys_stored.insert(row.anchor_key).second) continue;
    for (const AnchorResult* anchor : anchors_for(anchors, row.anchor_key)) {
      CellRecord cell = kernel_cell(anchor->impl, "gpu_anchor", anchor->impl + " " + row.anchor_key,
                                    {{"key", row.anchor_key}, {"shape", row.shape}}, row.seq_len);
      if (!anchor->error.empty()) {
        cell.status = "failed";
        cell.error = anchor->error;
        store.add_cell(run, cell, {});
      } else {
        store.add_cell(run, cell, time_and_rates("anchor", anchor->samples_ms, row.anchor_work));
      }
    }
  }
  store.finish_run(run, RunStatus::ok);
  return run;
}

}  // namespace seqbench
