// Per-turn metrics in the results store: the turn column round-trips, readers that key metrics by
// name (leaderboard columns, compare, gate) see each cell's turn-0 figures, and the scenario
// report reads the turns.
#include <catch2/catch.hpp>

#include "reports/html_report.h"
#include "reports/leaderboard.h"
#include "reports/run_matching.h"
#include "reports/scenario_report.h"
#include "tests/results_store_fixtures.h"

using namespace seqbench;
using namespace store_fixtures;

namespace {

Metric at_turn(const std::string& name, double value, int64_t turn) {
  Metric m;
  m.name = name;
  m.value = value;
  m.unit = "fraction";
  m.turn = turn;
  return m;
}

CellRecord session_cell(const std::string& policy, int64_t budget) {
  CellRecord cell;
  cell.backend = "softmax";
  cell.task = "scbench_kv";
  nlohmann::json params{{"task_params", {{"num_records", 8}}},
                        {"scenario",
                         {{"mode", "multi-turn"},
                          {"golden_answers", true},
                          {"compress", "first_prefill"},
                          {"policy_resolved", {{"name", policy}, {"params", {{"budget", budget}}}}}}}};
  cell.params_json = params.dump();
  return cell;
}

std::vector<Metric> turns(double first, double second) {
  return {at_turn("answer_exact_match", first, 1), at_turn("answer_exact_match", second, 2),
          at_turn("answer_exact_match", (first + second) / 2, 0), at_turn("needle_retained@depth50", 0.25, 1),
          at_turn("needle_retained@depth50", 0.5, 2)};
}

}  // namespace

TEST_CASE("a metric's turn reads back as it was written", "[store][sessions]") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  ResultsStore store(path);
  const int64_t run = store.begin_run(sample_run_info());
  const int64_t cell = store.add_cell(run, session_cell("snapkv", 16), turns(0.75, 0.25));
  const std::vector<MetricRow> rows = store.metrics(cell);
  REQUIRE(rows.size() == 5);
  CHECK(rows[0].metric.turn == 1);
  CHECK(rows[1].metric.turn == 2);
  CHECK(rows[2].metric.turn == 0);
  CHECK(rows[2].metric.value == 0.5);
}

TEST_CASE("readers keyed by metric name see a session cell's aggregate, the report its turns", "[store][sessions]") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  {
    ResultsStore store(path);
    const int64_t run = store.begin_run(sample_run_info());
    store.add_cell(run, session_cell("snapkv", 16), turns(0.75, 0.25));
    store.add_cell(run, session_cell("dense", 0), turns(1.0, 1.0));
    store.finish_run(run, RunStatus::ok);
  }
  ResultsStore reader(path, StoreAccess::read_only);
  const Leaderboard board = load_leaderboard(reader, std::nullopt);
  REQUIRE(board.rows.size() == 2);
  CHECK(board.rows[0].metrics.at("answer_exact_match") == 0.5);
  CHECK(board.rows[0].per_turn.at("answer_exact_match").at(1) == 0.75);
  CHECK(is_scenario_row(board.rows[0]));
  const LoadedRun loaded = load_run({path, std::nullopt});
  CHECK(loaded.cells[0].metrics.size() == 1);  // compare and gate: the turn-0 figure only
  const std::string md = render_scenario_markdown(board);
  INFO(md);
  CHECK_THAT(md, Catch::Matchers::Contains("### scbench_kv num_records=8: multi-turn"));
  CHECK_THAT(md, Catch::Matchers::Contains("| softmax | snapkv 16 | 0.750 | 0.250 | 0.500 |"));
  CHECK_THAT(md, Catch::Matchers::Contains("| 40-50% | 0.25 | 0.50 |"));  // the retention heat map
  CHECK_THAT(render_markdown(board), Catch::Matchers::Contains("## Shared-context sessions"));
  const nlohmann::json json = nlohmann::json::parse(render_json(board));
  CHECK(json["cells"][0]["per_turn"]["answer_exact_match"]["2"] == 0.25);
  CHECK(json["cells"][0]["metrics"]["answer_exact_match"] == 0.5);
  const std::string html = render_html_report(board);
  CHECK_THAT(html, Catch::Matchers::Contains("Exact match vs turn: multi-turn"));
  CHECK_THAT(html, Catch::Matchers::Contains("<table class=\"heat\">"));
}
