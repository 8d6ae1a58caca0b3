// Fixtures for the scale-out tests: a small training sweep, and a run's cells read back keyed by
// their stable identity, so runs made by one process, by workers or by merged shards compare cell
// for cell whatever order they stored them in.
#pragma once
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "harness/results_store.h"
#include "harness/scaleout/cell_identity.h"

namespace seqbench::testing {

// Eight cells that train for one epoch in milliseconds: 2 backends x 2 lengths x 2 seeds.
inline const char* kEightCellSweep = R"({
  "name": "eight", "seeds": [0, 1],
  "backends": ["softmax", "linear"],
  "tasks": [{"name": "mqar", "vocab_size": 64, "seq_len": [16, 24], "num_kv_pairs": 2, "num_train": 16,
             "num_test": 8}],
  "model": {"d_model": 16, "n_layers": 1, "mlp_expand": 0},
  "train": {"epochs": 1, "batch_size": 8}
})";

// Metrics that measure time: they differ from run to run and are only checked to be there.
inline bool is_timing(const std::string& metric) {
  return metric == "train_seconds" || metric == "train_tokens_per_s";
}

struct StoredResult {
  CellRecord cell;
  std::map<std::string, double> metrics;
};

// The latest run's cells by stable identity; fails the test if an identity occurs twice.
inline std::map<std::string, StoredResult> cells_by_identity(const std::string& db, RunRow* run_out = nullptr) {
  ResultsStore store(db, StoreAccess::read_only);
  const auto run = store.latest_run();
  REQUIRE(run);
  if (run_out) *run_out = *run;
  std::map<std::string, StoredResult> out;
  for (const CellRow& row : store.cells(run->id)) {
    StoredResult result{row.cell, {}};
    for (const MetricRow& m : store.metrics(row.id)) result.metrics[m.metric.name] = m.metric.value;
    REQUIRE(out.emplace(stored_cell_identity(row.cell), result).second);
  }
  return out;
}

// Same cells, same parameters and sizes, same score metrics, and every timing present on both sides.
inline void check_same_results(const std::map<std::string, StoredResult>& expected,
                               const std::map<std::string, StoredResult>& actual) {
  REQUIRE(actual.size() == expected.size());
  for (const auto& [identity, want] : expected) {
    INFO(identity);
    const auto found = actual.find(identity);
    REQUIRE(found != actual.end());
    const StoredResult& got = found->second;
    CHECK(got.cell.status == want.cell.status);
    CHECK(got.cell.params_json == want.cell.params_json);
    CHECK(got.cell.seq_len == want.cell.seq_len);
    CHECK(got.cell.d_model == want.cell.d_model);
    CHECK(got.cell.state_bytes == want.cell.state_bytes);
    REQUIRE(got.metrics.size() == want.metrics.size());
    for (const auto& [name, value] : want.metrics) {
      INFO(name);
      REQUIRE(got.metrics.count(name) == 1);
      if (!is_timing(name)) CHECK(got.metrics.at(name) == value);
    }
    CHECK(want.metrics.count("train_seconds") == 1);
  }
}

}  // namespace seqbench::testing
