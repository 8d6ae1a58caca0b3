// The metric catalog (reports/metric_catalog.h): one unit and direction per metric, producers
// that cannot write a name it lacks, and every metric a real run, profile or benchmark stores is
// in it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "harness/results_store.h"
#include "harness/timing_stats.h"
#include "reports/metric_catalog.h"
#include "tests/cli_harness.h"

using namespace seqbench;
using Catch::Matchers::Contains;

namespace {

// Every metric of every cell of every run in db must be a catalog name, stored in its unit.
int check_stored_metrics_are_catalogued(const std::string& db) {
  ResultsStore store(db);
  int checked = 0;
  for (const RunRow& run : store.runs())
    for (const CellRow& cell : store.cells(run.id))
      for (const MetricRow& row : store.metrics(cell.id)) {
        INFO("metric " << row.metric.name << " of cell " << cell.cell.backend << " " << cell.cell.task);
        const MetricInfo* info = nullptr;
        CHECK_NOTHROW(info = &checked_metric_info(row.metric.name));
        if (info) CHECK(row.metric.unit == info->unit);
        ++checked;
      }
  return checked;
}

}  // namespace

TEST_CASE("metric directions and kinds come from the catalog, by base name") {
  CHECK(metric_direction("prefill_ms@len256") == MetricDirection::lower_is_better);
  CHECK(metric_direction("peak_mem_bytes@train") == MetricDirection::lower_is_better);
  CHECK(metric_direction("accuracy@len512") == MetricDirection::higher_is_better);
  CHECK(metric_direction("train_tokens_per_s") == MetricDirection::higher_is_better);
  CHECK(metric_direction("flops_per_s") == MetricDirection::higher_is_better);
  CHECK(metric_direction("best_lr") == MetricDirection::informational);
  CHECK(metric_direction("train_seconds") == MetricDirection::informational);
  // A name from some other tool is never gated: nothing says which way is better.
  CHECK(metric_direction("some_new_time") == MetricDirection::informational);
  CHECK(is_score_metric("exact_match@len1024"));
  CHECK_FALSE(is_score_metric("prefill_ms@len64"));
  CHECK(rate_timing_partner("decode_tokens_per_s@ctx512") == "decode_ms_per_token@ctx512");
  CHECK(rate_timing_partner("prefill_ms@len64").empty());
}

TEST_CASE("the catalog gives each metric one unit and rejects names and suffixes it does not list") {
  CHECK(make_metric("prefill_ms@len64", 1.5).unit == "ms");
  CHECK(make_metric("accuracy@len512", 0.5).unit == "fraction");
  CHECK(make_metric("peak_mem_bytes@train", 1e6).unit == "bytes");
  CHECK_THROWS_WITH(make_metric("prefil_ms@len64", 1.0), Contains("prefil_ms@len64") && Contains("catalog"));
  CHECK_THROWS_WITH(make_metric("prefill_ms@ctx64", 1.0), Contains("@len<N>") && Contains("@ctx64"));
  CHECK_THROWS_AS(make_metric("prefill_ms@len", 1.0), std::invalid_argument);
  CHECK_THROWS_AS(make_metric("train_step_ms@len64", 1.0), std::invalid_argument);
  // Every rate's timing partner is itself in the catalog, with a unit of time.
  for (const MetricInfo& info : metric_catalog()) {
    INFO(info.name);
    CHECK(metric_base_name(info.name) == info.name);
    if (info.rate_of.empty()) continue;
    const MetricInfo* partner = find_metric_info(info.rate_of);
    REQUIRE(partner);
    CHECK(partner->unit == "ms");
    CHECK(info.direction == MetricDirection::higher_is_better);
  }
}

TEST_CASE("seqbench list metrics prints every catalog entry with unit, direction and kind") {
  const auto r = testing::run_seqbench("list metrics");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("name") && Contains("unit") && Contains("direction") && Contains("kind"));
  for (const MetricInfo& info : metric_catalog()) {
    INFO(info.name);
    CHECK_THAT(r.output, Contains(info.name) && Contains(info.description));
  }
  CHECK_THAT(r.output, Contains("prefill_ms[@len<N>]") && Contains("lower is better"));
}

TEST_CASE("every metric a trained and profiled run stores is in the catalog, in the catalog's unit") {
  testing::TempDir dir;
  const std::string sweep = dir.write("s.json", R"({
    "name": "catalog",
    "backends": ["softmax"],
    "tasks": [{"name": "mqar", "vocab_size": 64, "seq_len": 16, "num_kv_pairs": 2, "num_train": 32, "num_test": 8,
               "test_lengths": [[32]]}],
    "model": {"d_model": 16, "n_layers": 1, "mlp_expand": 0, "position": "sinusoidal"},
    "train": {"epochs": 1, "batch_size": 16},
    "profile": {"prefill_lengths": [16], "decode_context": 8, "decode_tokens": 2, "train_step": true,
                "budget_s": 0.01, "min_repetitions": 2}
  })");
  const std::string db = dir.file("r.db");
  const auto r = testing::run_seqbench("run --sweep " + sweep + " --db " + db + " --threads 1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // Scores at both lengths, training figures, and every profiler family.
  CHECK(check_stored_metrics_are_catalogued(db) >= 20);
}

TEST_CASE("every metric the micro-benchmark binary stores is in the catalog") {
  const std::string bench = std::filesystem::path(SEQBENCH_BINARY).parent_path() / "bench" / "seqbench_bench";
  if (!std::filesystem::exists(bench)) {
    WARN("SKIPPED: " << bench << " was not built (no Google Benchmark)");
    return;
  }
  testing::TempDir dir;
  const std::string db = dir.file("bench.db");
  const std::string command = bench + " --threads 1 --store " + db +
                              " --benchmark_filter='^(matmul/forward/K61_M127|layer_norm/forward/dim67|softmax/forward/B1_L128)'"
                              " --benchmark_min_time=0.001 --benchmark_repetitions=2 > " + dir.file("log") + " 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
  CHECK(check_stored_metrics_are_catalogued(db) >= 9);  // two times each, and the counters
}
