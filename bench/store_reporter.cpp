#include "bench/store_reporter.h"

#include <map>

#include "bench/benchmark_catalog.h"
#include "harness/environment.h"
#include "harness/timing_stats.h"

namespace seqbench::bench {
namespace {

// Google Benchmark's counter names as metric catalog names; "" for a counter the catalog lacks.
std::string counter_metric(const std::string& counter) {
  if (counter == "FLOP/s") return "flops_per_s";
  if (counter == "tokens/s") return "tokens_per_s";
  if (counter == "bytes_per_second") return "bytes_per_s";
  if (counter == "items_per_second") return "items_per_s";
  return "";
}

double to_ms(double value, benchmark::TimeUnit unit) { return value / benchmark::GetTimeUnitMultiplier(unit) * 1e3; }

}  // namespace

// Opening the store here, before any benchmark runs, is what refuses a bad --store up front; the
// run itself begins with the first result, so a filter that matches nothing stores nothing.
StoreReporter::StoreReporter(const std::string& db_path, const std::string& command_line)
    : store_(std::make_unique<ResultsStore>(db_path)), command_line_(command_line) {}

void StoreReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  // One call per benchmark: its repetitions, then (when repeated) the aggregates, which the
  // samples make redundant.
  std::map<std::string, std::vector<double>> samples;
  const Run* first = nullptr;
  for (const Run& run : runs) {
    if (run.run_type != Run::RT_Iteration) continue;
    if (!first) first = &run;
    if (run.error_occurred) continue;
    samples["real_time_ms"].push_back(to_ms(run.GetAdjustedRealTime(), run.time_unit));
    samples["cpu_time_ms"].push_back(to_ms(run.GetAdjustedCPUTime(), run.time_unit));
    for (const auto& [name, counter] : run.counters) samples[name].push_back(counter.value);
  }
  if (!first) return;
  if (run_id_ == 0) run_id_ = store_->begin_run(capture_run_info(command_line_, "cpu", 0, "bench"));
  const std::string name = first->run_name.function_name;
  CellRecord cell;
  const BenchmarkInfo* info = find_benchmark_info(name);
  cell.backend = info ? info->backend : name;
  cell.task = "bench/" + (info ? info->op : std::string("unknown"));
  cell.params_json = nlohmann::json{{"benchmark", name}, {"shape", info ? info->shape : nlohmann::json::object()}}.dump();
  if (info) {
    cell.seq_len = info->seq_len;
    cell.d_model = info->d_model;
    cell.layers = 1;
    cell.state_bytes = info->state_bytes;
  }
  std::vector<Metric> metrics;
  if (first->error_occurred) {
    cell.status = "failed";
    cell.error = first->error_message;
    any_failed_ = true;
  } else {
    // Times first, then the counters in name order. A counter without a catalog entry fails the
    // cell (naming it) rather than storing a metric no report knows the unit or direction of.
    metrics.push_back(make_metric("real_time_ms", samples["real_time_ms"]));
    metrics.push_back(make_metric("cpu_time_ms", samples["cpu_time_ms"]));
    for (const auto& [counter, values] : samples) {
      if (counter == "real_time_ms" || counter == "cpu_time_ms") continue;
      const std::string metric = counter_metric(counter);
      if (metric.empty()) {
        cell.status = "failed";
        cell.error = "benchmark counter '" + counter + "' has no metric in reports/metric_catalog.cpp";
        any_failed_ = true;
        continue;
      }
      metrics.push_back(make_metric(metric, values));
    }
  }
  store_->add_cell(run_id_, cell, metrics);
  ++cells_;
}

int64_t StoreReporter::finish() {
  if (run_id_ == 0) return 0;
  store_->finish_run(run_id_, any_failed_ ? RunStatus::failed : RunStatus::ok);
  return run_id_;
}

}  // namespace seqbench::bench
