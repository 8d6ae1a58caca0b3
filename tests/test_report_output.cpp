// What a person sees in a report: cost metrics and every test length in Markdown, units in
// headers, one spelling of a backend everywhere, CSV and JSON with units and repetition
// statistics, a partial run's missing cells, run references, and help with an example.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "harness/results_store.h"
#include "harness/timing_stats.h"
#include "reports/leaderboard.h"
#include "tests/cli_harness.h"

using namespace seqbench;
using Catch::Matchers::Contains;

namespace {

CellRecord cell_of(const std::string& backend, const std::string& task, const nlohmann::json& mixer_params) {
  CellRecord cell;
  cell.backend = backend;
  cell.task = task;
  cell.params_json = nlohmann::json{{"mixer_params", mixer_params}, {"task_params", {{"seq_len", 64}}}}.dump();
  cell.seq_len = 64;
  cell.d_model = 32;
  cell.layers = 2;
  cell.state_bytes = 4096;
  return cell;
}

// A profile-only run (the `latency` suite's metrics) and a trained run with length splits on two
// tasks; the second run planned five cells and stored three.
void write_runs(const std::string& db) {
  ResultsStore store(db);
  RunInfo info;
  info.suite = "latency";
  int64_t run = store.begin_run(info);
  for (const char* backend : {"softmax", "linear"})
    store.add_cell(run, cell_of(backend, "mqar", backend == std::string("linear") ? nlohmann::json{{"feature_map", "elu"}} : nlohmann::json::object()),
                   {make_metric("prefill_ms@len64", {1.0, 1.2, 1.1}), make_metric("prefill_ms@len256", {4.0, 4.4, 4.2}),
                    make_metric("prefill_tokens_per_s@len64", {64000.0, 53000.0, 58000.0}),
                    make_metric("decode_ms_per_token@ctx128", {0.5, 0.6, 0.55}), make_metric("train_step_ms", {9.0, 9.5, 9.2}),
                    make_metric("peak_mem_bytes@train", 3.0 * 1048576), make_metric("state_bytes", 4096.0),
                    make_metric("parameters", 12345.0)});
  store.finish_run(run, RunStatus::ok);

  info.suite = "recall-long";
  info.cells_planned = 5;
  run = store.begin_run(info);
  for (const char* task : {"mqar", "passkey"})
    store.add_cell(run, cell_of("linear", task, {{"feature_map", "elu"}}),
                   {make_metric("accuracy", 0.9), make_metric("accuracy@len256", 0.7), make_metric("accuracy@len512", 0.5),
                    make_metric("exact_match", 0.8), make_metric("train_seconds", 12.5), make_metric("state_bytes", 4096.0)});
  store.add_cell(run, cell_of("softmax", "mqar", nlohmann::json::object()),
                 {make_metric("accuracy", 0.99), make_metric("accuracy@len256", 0.2), make_metric("state_bytes", 4096.0)});
  store.finish_run(run, RunStatus::partial);
}

std::vector<std::string> csv_header(const std::string& csv) {
  std::vector<std::string> fields;
  std::stringstream line(csv.substr(0, csv.find('\n')));
  for (std::string field; std::getline(line, field, ',');) fields.push_back(field);
  return fields;
}

// A fresh directory whose results store r.db holds the runs of write_runs.
struct StoredRuns {
  testing::TempDir dir;
  const std::string db = dir.file("r.db");
  StoredRuns() { write_runs(db); }
};

}  // namespace

TEST_CASE_METHOD(StoredRuns, "the Markdown leaderboard of a profile-only run shows its cost metrics with units") {
  const auto r = testing::run_seqbench("report --db " + db + " --run 1");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("prefill_ms@len64 (ms)") && Contains("prefill_ms@len256 (ms)") &&
                           Contains("decode_ms_per_token@ctx128 (ms)") && Contains("train_step_ms (ms)") &&
                           Contains("peak_mem_bytes@train (bytes)") && Contains("3.0 MiB") && Contains("| 1.1 |"));
  // Rates repeat their timings; training and accuracy columns are left out when no row has them.
  CHECK_THAT(r.output, !Contains("tokens_per_s") && !Contains("accuracy") && !Contains("train s"));
  // Columns in catalog order: prefill before decode before the training step, lengths ascending.
  CHECK(r.output.find("prefill_ms@len64") < r.output.find("prefill_ms@len256"));
  CHECK(r.output.find("prefill_ms@len256") < r.output.find("decode_ms_per_token"));
  CHECK(r.output.find("decode_ms_per_token") < r.output.find("train_step_ms"));
}

TEST_CASE_METHOD(
    StoredRuns,
    "the Markdown leaderboard shows accuracy at every test length for every task, and a partial run's gap") {
  const auto r = testing::run_seqbench("report --db " + db);  // the latest run
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("status partial: 3 of 5 planned cells stored, 2 missing"));
  const std::string passkey = r.output.substr(r.output.find("## passkey"));
  const std::string mqar = r.output.substr(r.output.find("## mqar"), r.output.find("## passkey") - r.output.find("## mqar"));
  for (const std::string& section : {mqar, passkey}) {
    CHECK_THAT(section, Contains("accuracy (fraction)") && Contains("accuracy@len256 (fraction)") &&
                            Contains("accuracy@len512 (fraction)") && Contains("train s"));
  }
  CHECK_THAT(mqar, Contains("| 0.200 | - |"));  // softmax has no len512 split: a dash, not a shifted column
  // Best accuracy first.
  CHECK(mqar.find("| softmax") < mqar.find("| linear(feature_map=elu)"));

  const auto html = testing::run_seqbench("report --db " + db + " --format html");
  CHECK_THAT(html.output, Contains("partial: 3 of 5 planned cells stored, 2 missing"));
}

TEST_CASE_METHOD(StoredRuns, "a backend is spelt the same in Markdown, CSV, JSON, HTML and compare") {
  for (const std::string& args : {"report --db " + db + " --run 1", "report --db " + db + " --run 1 --format csv",
                                  "report --db " + db + " --run 1 --format html",
                                  "report --db " + db + " --run 1 --format json", "compare " + db + ":1 " + db + ":1"}) {
    INFO(args);
    const auto r = testing::run_seqbench(args);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Contains("linear(feature_map=elu)"));
    CHECK_THAT(r.output, !Contains("linear {") && !Contains("linear{"));
  }
  // ... and while it runs: the dry-run listing and the progress lines use the same label.
  const std::string sweep = dir.write("s.json", R"({"backends": [{"name": "linear", "feature_map": "elu"}],
    "tasks": [{"name": "mqar", "vocab_size": 64, "seq_len": 16, "num_kv_pairs": 2}], "model": {"d_model": 16}})");
  const auto listing = testing::run_seqbench("run --dry-run --sweep " + sweep);
  CHECK_THAT(listing.output, Contains("1  linear(feature_map=elu) mqar"));
}

TEST_CASE_METHOD(StoredRuns,
                 "CSV has one header per column and carries units and repetition statistics; so does JSON") {
  const auto csv = testing::run_seqbench("report --db " + db + " --run 1 --format csv");
  REQUIRE(csv.exit_code == 0);
  const auto header = csv_header(csv.output);
  CHECK(std::set<std::string>(header.begin(), header.end()).size() == header.size());
  for (const char* column : {"state_bytes", "metric", "unit", "value", "n", "min", "max", "stddev"})
    CHECK(std::count(header.begin(), header.end(), column) == 1);
  CHECK_THAT(csv.output, Contains(",prefill_ms@len64,ms,1.1,3,1,1.2,"));

  const auto json = nlohmann::json::parse(testing::run_seqbench("report --db " + db + " --run 1 --format json").output);
  const auto& detail = json["cells"][0]["metric_details"]["prefill_ms@len64"];
  CHECK(detail["unit"] == "ms");
  CHECK(detail["n"] == 3);
  CHECK(detail["max"] == 1.2);
  CHECK(json["cells"][0]["metrics"]["prefill_ms@len64"] == 1.1);
}

TEST_CASE_METHOD(StoredRuns, "report --run takes latest, a run id, FILE.db and FILE.db:RUN like compare and gate") {
  CHECK_THAT(testing::run_seqbench("report --db " + db + " --run latest").output, Contains("run 2 (recall-long)"));
  CHECK_THAT(testing::run_seqbench("report --db " + db + " --run 1").output, Contains("run 1 (latency)"));
  CHECK_THAT(testing::run_seqbench("report --run " + db + ":1").output, Contains("run 1 (latency)"));
  CHECK_THAT(testing::run_seqbench("report --run " + db).output, Contains("run 2 (recall-long)"));
  const auto missing = testing::run_seqbench("report --db " + db + " --run 99");
  CHECK(missing.exit_code == 3);
  CHECK_THAT(missing.output, Contains("no run 99"));
}

TEST_CASE("list backends shows each backend's parameters with their defaults, and every --help has an example") {
  const auto r = testing::run_seqbench("list backends");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("sliding_window") && Contains("window = 16") && Contains("feature_map = \"elu\"") &&
                           Contains("gated = false") && Contains("d_state = 16") && Contains("top_k = 2") &&
                           Contains("short_conv = K"));
  for (const std::string command : {"", "list", "run", "report", "compare", "gate", "dataset", "dataset export", "score"}) {
    INFO(command);
    const auto help = testing::run_seqbench(command + " --help");
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.output, Contains("Example") && Contains("seqbench " + command));
  }
}
