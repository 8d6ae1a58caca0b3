#include "harness/scaleout/shard_runs.h"

#include <map>
#include <sstream>
#include <stdexcept>

#include "harness/scaleout/cell_identity.h"
#include "reports/run_matching.h"

namespace seqbench {
namespace {

std::string shown(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

// NaN is stored as NULL and reads back as NaN: two NaNs are the same stored value.
bool same(double a, double b) { return a == b || (a != a && b != b); }

template <class T>
std::string differ(const std::string& what, const T& a, const T& b) {
  std::ostringstream out;
  out << what << ": " << a << " vs " << b;
  return out.str();
}

std::string metric_difference(const Metric& a, const Metric& b) {
  if (!same(a.value, b.value)) return a.name + ": " + shown(a.value) + " vs " + shown(b.value);
  if (a.unit != b.unit) return differ(a.name + " unit", a.unit, b.unit);
  if (a.n != b.n || !same(a.min, b.min) || !same(a.max, b.max) || !same(a.stddev, b.stddev))
    return a.name + ": repetition statistics differ";
  if (a.samples.size() != b.samples.size()) return differ(a.name + " samples", a.samples.size(), b.samples.size());
  for (size_t i = 0; i < a.samples.size(); ++i)
    if (!same(a.samples[i], b.samples[i])) return a.name + ": sample " + std::to_string(i) + " differs";
  return "";
}

}  // namespace

std::string cell_label_with_seed(const StoredCell& cell) {
  return cell_label(cell.row.cell) + ", seed " + std::to_string(cell.seed);
}

std::string ShardRun::source() const { return path + " run " + std::to_string(run.id); }

nlohmann::json sweep_of(const RunRow& run) {
  const auto environment = nlohmann::json::parse(run.info.environment_json, nullptr, false);
  if (!environment.is_object() || !environment.contains("sweep") || !environment["sweep"].is_object() ||
      !environment["sweep"].contains("fingerprint"))
    return nullptr;
  return environment["sweep"];
}

std::vector<StoredCell> read_stored_cells(const ResultsStore& store, int64_t run_id) {
  std::vector<StoredCell> cells;
  std::map<std::string, int> occurrences;
  for (const CellRow& row : store.cells(run_id)) {
    StoredCell cell;
    cell.row = row;
    for (const MetricRow& m : store.metrics(row.id)) cell.metrics.push_back(m.metric);
    const std::string identity = stored_cell_identity(row.cell);
    cell.key = identity + "#" + std::to_string(occurrences[identity]++);
    const auto params = nlohmann::json::parse(row.cell.params_json, nullptr, false);
    if (params.is_object() && params.contains("seed") && params["seed"].is_number_unsigned())
      cell.seed = params["seed"].get<uint64_t>();
    cells.push_back(std::move(cell));
  }
  return cells;
}

std::vector<ShardRun> read_shard_runs(const std::string& path) {
  const ResultsStore store(path, StoreAccess::read_only);
  std::vector<ShardRun> runs;
  for (const RunRow& row : store.runs()) {
    ShardRun run;
    run.path = path;
    run.run = row;
    run.sweep = sweep_of(row);
    if (run.sweep.is_null())
      throw std::invalid_argument(run.source() + " (" + row.info.suite +
                                  ") does not record which sweep it ran (it was not written by `seqbench run`, or by "
                                  "a seqbench older than `seqbench merge`); it cannot be merged");
    if (row.status == RunStatus::running)
      throw std::invalid_argument(run.source() + " is still running; merge it once it has finished");
    run.cells = read_stored_cells(store, row.id);
    runs.push_back(std::move(run));
  }
  return runs;
}

std::string first_difference(const StoredCell& a, const StoredCell& b) {
  const CellRecord &x = a.row.cell, &y = b.row.cell;
  if (x.status != y.status) return differ("status", x.status, y.status);
  if (x.error != y.error) return differ("error", "'" + x.error + "'", "'" + y.error + "'");
  if (x.params_json != y.params_json) return "stored parameters (params_json) differ";
  if (x.seq_len != y.seq_len || x.d_model != y.d_model || x.layers != y.layers)
    return "sizes differ (seq_len, d_model, layers)";
  if (x.state_bytes != y.state_bytes) return differ("state_bytes", x.state_bytes, y.state_bytes);
  if (a.metrics.size() != b.metrics.size())
    return differ("number of metrics", a.metrics.size(), b.metrics.size());
  for (size_t i = 0; i < a.metrics.size(); ++i) {
    if (a.metrics[i].name != b.metrics[i].name) return differ("metric", a.metrics[i].name, b.metrics[i].name);
    const std::string difference = metric_difference(a.metrics[i], b.metrics[i]);
    if (!difference.empty()) return difference;
  }
  return "";
}

}  // namespace seqbench
