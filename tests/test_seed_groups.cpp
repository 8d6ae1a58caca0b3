// Several seeds of one cell: reports show each cell's mean with its 95% interval and the number of
// seeds, name the seed on every per-seed row, and compare pairs a cell's seeds one to one.
#include <catch2/catch.hpp>

#include "reports/html_report.h"
#include "reports/leaderboard.h"
#include "reports/run_matching.h"
#include "reports/seed_groups.h"

using namespace seqbench;
using Catch::Matchers::Contains;

namespace {

LeaderboardRow seeded_row(const std::string& backend, uint64_t seed, double accuracy, int64_t id) {
  LeaderboardRow r;
  r.cell_id = id;
  r.backend = backend;
  r.task = "mqar";
  r.task_params = "num_kv_pairs=4";
  r.params = {{"task_params", {{"num_kv_pairs", 4}}}, {"seed", seed}, {"model", {{"d_model", 64}}}};
  r.d_model = 64;
  r.layers = 2;
  r.state_bytes = 4096;
  r.status = "ok";
  r.metrics["accuracy"] = accuracy;
  r.metrics["train_seconds"] = 1.5;
  return r;
}

// softmax over seeds 0, 1, 2 (0.8, 0.9, 1.0) and linear over seeds 0, 1 (0.5, 0.7).
Leaderboard three_seed_board() {
  Leaderboard board;
  board.run.id = 1;
  board.rows = {seeded_row("softmax", 0, 0.8, 1), seeded_row("linear", 0, 0.5, 2), seeded_row("softmax", 1, 0.9, 3),
                seeded_row("linear", 1, 0.7, 4), seeded_row("softmax", 2, 1.0, 5)};
  return board;
}

LoadedCell loaded(const std::string& key, uint64_t seed, double accuracy) {
  LoadedCell cell;
  cell.key = key;
  cell.label = key;
  cell.seed = seed;
  Metric metric;
  metric.name = "accuracy";
  metric.value = accuracy;
  metric.unit = "fraction";
  cell.metrics = {metric};
  return cell;
}

}  // namespace

TEST_CASE("seeds summarise as the mean with a Student t 95% interval, a fraction's cut to 0..1") {
  const SeedSummary s = summarize_seeds({0.8, 0.9, 1.0}, true);
  CHECK(s.n == 3);
  CHECK(s.mean == Approx(0.9));
  CHECK(s.low == Approx(0.9 - 4.303 * 0.1 / std::sqrt(3.0)));  // s = 0.1, t(0.975, 2) = 4.303
  CHECK(s.high == 1.0);                                          // 1.148 cut to what accuracy can reach
  const SeedSummary ms = summarize_seeds({10, 20}, false);
  CHECK(ms.low == Approx(15 - 12.706 * std::sqrt(50.0) / std::sqrt(2.0)));
  CHECK(ms.low < 0);  // a timing is not cut
  const SeedSummary one = summarize_seeds({0.7}, true);
  CHECK((one.n == 1 && one.low == 0.7 && one.high == 0.7));
  CHECK(seed_summary_text("accuracy", one) == "0.700 n=1");
  CHECK(seed_summary_text("accuracy", s) == "0.900 [0.652, 1.000] n=3");
}

TEST_CASE("cells that differ only in their seed form one group, in the run's order") {
  const Leaderboard board = three_seed_board();
  const auto groups = group_by_seed(board);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].seeds() == std::vector<uint64_t>{0, 1, 2});
  CHECK(groups[1].seeds() == std::vector<uint64_t>{0, 1});
  CHECK(groups[1].summary("accuracy").mean == Approx(0.6));
  CHECK(has_repeated_seeds(groups));
  Leaderboard wider = three_seed_board();
  wider.rows[2].d_model = 128;  // another width is another cell, whatever its parameters say
  CHECK(group_by_seed(wider).size() == 3);
}

TEST_CASE("the Markdown leaderboard names each row's seed and aggregates the seeds of every cell") {
  const std::string md = render_markdown(three_seed_board());
  CHECK_THAT(md, Contains("| seed |") && Contains("Across seeds (mean [95% interval], n seeds)"));
  CHECK_THAT(md, Contains("| softmax | 64 | 2 | num_kv_pairs=4 | 0,1,2 | 0.900 [0.652, 1.000] n=3 |"));
  CHECK_THAT(md, Contains("| linear | 64 | 2 | num_kv_pairs=4 | 0,1 | 0.600 [0.000, 1.000] n=2 |"));
  // One seed per cell: no seed column and no aggregate table.
  Leaderboard single = three_seed_board();
  single.rows = {single.rows[0], single.rows[1]};
  const std::string plain = render_markdown(single);
  CHECK_THAT(plain, !Contains("| seed |") && !Contains("Across seeds"));
}

TEST_CASE("CSV, JSON and HTML carry the seed of each row and the aggregate over seeds") {
  const Leaderboard board = three_seed_board();
  const std::string csv = render_csv(board);
  CHECK_THAT(csv, Contains(",status,seed,metric,") && Contains(",seeds_n,seeds_mean,seeds_ci_low,seeds_ci_high\n"));
  CHECK_THAT(csv, Contains(",ok,2,accuracy,fraction,1,"));  // the third softmax seed
  CHECK_THAT(csv, Contains(",3,0.9,"));                      // its group's n and mean
  const auto json = nlohmann::json::parse(render_json(board));
  CHECK(json["cells"][4]["seed"] == 2);
  REQUIRE(json["across_seeds"].size() == 2);
  CHECK(json["across_seeds"][0]["seeds"] == nlohmann::json({0, 1, 2}));
  CHECK(json["across_seeds"][0]["metrics"]["accuracy"]["n"] == 3);
  CHECK(json["across_seeds"][0]["metrics"]["accuracy"]["mean"].get<double>() == Approx(0.9));
  const std::string html = render_html_report(board);
  CHECK_THAT(html, Contains("<th>seed</th>") && Contains("<table id=\"across-seeds\">") &&
                       Contains("0.900 [0.652, 1.000] n=3"));
}

TEST_CASE("compare pairs a cell's seeds one to one, whatever order the runs stored them in") {
  LoadedRun baseline, candidate;
  baseline.cells = {loaded("softmax", 0, 0.8), loaded("softmax", 1, 0.9)};
  candidate.cells = {loaded("softmax", 1, 0.95), loaded("softmax", 0, 0.85)};
  const auto pairs = pair_cells(baseline, candidate);
  REQUIRE(pairs.size() == 2);
  CHECK(pairs[0].candidate->seed == 0);
  CHECK(pairs[1].candidate->seed == 1);
  CHECK(pairs[0].label == "softmax seed 0");
  CHECK(pairs[1].label == "softmax seed 1");
}

TEST_CASE("seeds only one run has pair in order and say both seeds; a lone cell needs no seed") {
  LoadedRun baseline, candidate;
  baseline.cells = {loaded("softmax", 0, 0.8), loaded("linear", 3, 0.5)};
  candidate.cells = {loaded("softmax", 7, 0.85), loaded("linear", 3, 0.6), loaded("gla", 0, 0.4)};
  const auto pairs = pair_cells(baseline, candidate);
  REQUIRE(pairs.size() == 3);
  CHECK(pairs[0].candidate->seed == 7);
  CHECK(pairs[0].label == "softmax seed 0 vs 7");
  CHECK(pairs[1].label == "linear");  // one seed on each side, the same: the label stays as it was
  CHECK(pairs[2].baseline == nullptr);
  CHECK(pairs[2].label == "gla");
}
