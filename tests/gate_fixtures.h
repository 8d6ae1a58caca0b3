// Crafted runs for the compare and gate tests: cells with chosen metrics written to a store and
// loaded back as a LoadedRun.
#pragma once
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/results_store.h"
#include "harness/timing_stats.h"
#include "ops/rng.h"
#include "reports/gate.h"
#include "tests/cli_harness.h"

namespace seqbench::gate_fixtures {

inline std::vector<double> normal_samples(double mean, double sd, int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> out;
  for (int i = 0; i < n; ++i) out.push_back(mean + sd * rng.normal());
  return out;
}

// What one cell of a crafted run measured.
struct CellPlan {
  std::string backend = "softmax";
  int d_model = 64;
  uint64_t seed = 0;
  std::vector<Metric> metrics;
  std::string status = "ok";
};

inline CellRecord record_for(const CellPlan& plan) {
  CellRecord cell;
  cell.backend = plan.backend;
  cell.task = "mqar";
  nlohmann::json params{{"backend", plan.backend},
                        {"task", "mqar"},
                        {"task_params", {{"num_kv_pairs", 8}}},
                        {"model", {{"d_model", plan.d_model}}},
                        {"seed", plan.seed},
                        {"lr_sweep", {{{"lr", 0.001}, {"valid_accuracy", 0.5 + 0.01 * plan.seed}}}},
                        {"profile", {{"prefill_lengths", {64}}, {"budget_s", 1.0 + plan.seed}}}};
  cell.params_json = params.dump();
  cell.d_model = plan.d_model;
  cell.layers = 2;
  cell.status = plan.status;
  if (plan.status != "ok") cell.error = "loss became NaN";
  return cell;
}

inline int64_t write_run(const std::string& db, const std::vector<CellPlan>& cells) {
  ResultsStore store(db);
  RunInfo info;
  info.suite = "crafted";
  info.git_sha = "0123456789abcdef";
  const int64_t run = store.begin_run(info);
  for (const auto& plan : cells) store.add_cell(run, record_for(plan), plan.metrics);
  store.finish_run(run, RunStatus::ok);
  return run;
}

inline CellPlan timed_cell(double mean_ms, uint64_t sample_seed, double accuracy = 0.9) {
  CellPlan plan;
  plan.metrics = {make_metric("prefill_ms@len64", normal_samples(mean_ms, 0.1, 20, sample_seed)),
                  make_metric("accuracy", accuracy), make_metric("best_lr", 1e-3)};
  return plan;
}

inline const GateRow& row_for(const GateResult& result, const std::string& metric) {
  for (const auto& r : result.rows)
    if (r.metric == metric) return r;
  FAIL("no gate row for " << metric);
  return result.rows.front();
}

inline LoadedRun load(const std::string& db, int64_t run) { return load_run(RunRef{db, run}); }

// A results store r.db in a fresh directory, for a test case that writes runs and compares them.
struct ScratchStore {
  testing::TempDir dir;
  const std::string db = dir.file("r.db");
};


}  // namespace seqbench::gate_fixtures
