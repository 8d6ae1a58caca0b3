#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "harness/results_store.h"
#include "harness/timing_stats.h"
#include "ops/rng.h"
#include "reports/compare.h"
#include "reports/gate.h"
#include "reports/mann_whitney.h"
#include "tests/cli_harness.h"
#include "tests/gate_fixtures.h"

using namespace seqbench;
using Catch::Matchers::Contains;
using namespace seqbench::gate_fixtures;


TEST_CASE("the Mann-Whitney U test matches scipy.stats.mannwhitneyu (two-sided, method auto)") {
  struct Case {
    const char* name;
    std::vector<double> x, y;
    double u1, p;
    bool exact;
  };
  // Reference values from scipy 1.10.1: mannwhitneyu(x, y, alternative="two-sided").
  const std::vector<Case> cases{
      {"separated", {1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}, 0.0, 0.007936507936507936, true},
      {"overlapping", {1.1, 2.3, 3.7, 4.2}, {2.9, 5.1, 6.4, 7.7, 8.05}, 2.0, 0.06349206349206349, true},
      {"ties", {1, 2, 2, 3, 4}, {2, 3, 5, 6, 7, 8}, 4.5, 0.06476896969888761, false},
      {"large with a tie",
       {10.2, 9.8, 10.5, 10.1, 9.9, 10.4, 10.0, 10.3, 9.7, 10.6},
       {10.9, 11.2, 10.7, 11.4, 10.8, 11.0, 11.3, 10.6, 11.1, 11.5, 10.95, 11.25},
       0.5, 9.964955234644222e-05, false},
      {"identical", {1, 2, 3}, {1, 2, 3}, 4.5, 1.0, false},
      {"three each, separated", {1, 2, 3}, {4, 5, 6}, 0.0, 0.1, true},
      {"nine each, no ties",
       {3.1, 4.1, 5.9, 2.6, 5.3, 5.8, 9.7, 9.3, 2.3},
       {8.4, 6.2, 6.4, 3.3, 8.3, 2.7, 9.5, 0.2, 8.8},
       33.0, 0.5364994693194564, false},
      {"three against twenty", {5.5, 7.25, 0.5}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
       12.0, 0.11518915866741952, true},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const MannWhitneyResult r = mann_whitney_u(c.x, c.y);
    CHECK(r.u1 == Approx(c.u1));
    CHECK(r.p_value == Approx(c.p).epsilon(1e-9));
    CHECK(r.exact == c.exact);
    // Swapping the samples swaps U1 and U2 and keeps the two-sided p-value.
    const MannWhitneyResult swapped = mann_whitney_u(c.y, c.x);
    CHECK(swapped.u1 == Approx(r.u2));
    CHECK(swapped.p_value == Approx(r.p_value).epsilon(1e-12));
  }
  CHECK_THROWS_AS(mann_whitney_u({}, {1.0}), std::invalid_argument);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(mann_whitney_u({1, 2, 3, nan}, {4, 5, 6}).p_value == Approx(0.1));
}

TEST_CASE("run references name a run in the default file or in another file") {
  auto ref = parse_run_ref("7", "main.db");
  CHECK(ref.db_path == "main.db");
  CHECK(ref.run_id == 7);
  ref = parse_run_ref("latest", "main.db");
  CHECK_FALSE(ref.run_id);
  ref = parse_run_ref("other.db:12", "main.db");
  CHECK(ref.db_path == "other.db");
  CHECK(ref.run_id == 12);
  ref = parse_run_ref("dir/other.db", "main.db");
  CHECK(ref.db_path == "dir/other.db");
  CHECK_FALSE(ref.run_id);
  CHECK_THROWS_AS(parse_run_ref("", "main.db"), std::invalid_argument);
  CHECK_THROWS_AS(parse_run_ref(":3", "main.db"), std::invalid_argument);
}

TEST_CASE("cells match across seeds and measurement settings but not across model sizes") {
  CellPlan a, b, wider;
  b.seed = 3;
  wider.d_model = 128;
  CHECK(cell_match_key(record_for(a)) == cell_match_key(record_for(b)));
  CHECK(cell_match_key(record_for(a)) != cell_match_key(record_for(wider)));
}

TEST_CASE_METHOD(ScratchStore, "the gate passes a run against itself and against a rerun within noise") {
  const int64_t base = write_run(db, {timed_cell(10.0, 1)});
  const int64_t same = write_run(db, {timed_cell(10.0, 1)});
  const int64_t rerun = write_run(db, {timed_cell(10.0, 2, 0.895)});

  GateResult result = gate_runs(load(db, base), load(db, same), GateOptions{});
  CHECK(result.passed());
  CHECK(row_for(result, "prefill_ms@len64").verdict == GateVerdict::pass);
  CHECK(row_for(result, "best_lr").verdict == GateVerdict::informational);

  result = gate_runs(load(db, base), load(db, rerun), GateOptions{});
  INFO(render_gate(result, "md"));
  CHECK(result.passed());
  CHECK(row_for(result, "accuracy").verdict == GateVerdict::pass);
}

TEST_CASE_METHOD(ScratchStore, "the gate fails a candidate 20% slower beyond noise, and says why") {
  const int64_t base = write_run(db, {timed_cell(10.0, 1)});
  const int64_t slow = write_run(db, {timed_cell(12.0, 2)});
  const GateResult result = gate_runs(load(db, base), load(db, slow), GateOptions{});
  CHECK_FALSE(result.passed());
  const GateRow& row = row_for(result, "prefill_ms@len64");
  CHECK(row.verdict == GateVerdict::regressed);
  CHECK(row.change == Approx(0.2).epsilon(0.05));
  REQUIRE(row.p_value);
  CHECK(*row.p_value < 1e-6);
  CHECK_THAT(row.reason, Contains("worse by") && Contains("U test"));
  CHECK_THAT(render_gate(result, "md"), Contains("FAIL") && Contains("REGRESSED"));
  GateOptions only_accuracy;
  only_accuracy.only = {"accuracy"};
  const GateResult accuracy_only = gate_runs(load(db, base), load(db, slow), only_accuracy);
  CHECK(accuracy_only.passed());
  CHECK(accuracy_only.rows.size() == 1);

  // The reverse direction is an improvement, and compare reports the ratio both ways.
  const GateResult faster = gate_runs(load(db, slow), load(db, base), GateOptions{});
  CHECK(faster.passed());
  CHECK(row_for(faster, "prefill_ms@len64").verdict == GateVerdict::improved);
  const Comparison c = compare_runs(load(db, base), load(db, slow), CompareOptions{});
  bool seen = false;
  for (const auto& r : c.rows)
    if (r.metric == "prefill_ms@len64") {
      seen = true;
      CHECK(r.ratio == Approx(1.2).epsilon(0.02));
      CHECK(r.verdict() == "worse");
      CHECK(r.method() == "U test");
    }
  CHECK(seen);
}

TEST_CASE_METHOD(ScratchStore,
                 "a large change that is not beyond noise, or a small significant one, does not fail the gate") {
  CellPlan noisy_base, noisy_candidate;
  // Six wildly spread repetitions each: the median is 12% worse, but the samples interleave and the
  // U test (which can reach p = 0.002 at 6 vs 6) finds nothing.
  noisy_base.metrics = {make_metric("decode_ms_per_token@ctx512", {6.0, 9.0, 10.0, 11.0, 14.0, 20.0})};
  noisy_candidate.metrics = {make_metric("decode_ms_per_token@ctx512", {5.5, 9.5, 11.0, 13.4, 15.0, 21.0})};
  const int64_t a = write_run(db, {noisy_base});
  const int64_t b = write_run(db, {noisy_candidate});
  GateResult result = gate_runs(load(db, a), load(db, b), GateOptions{});
  INFO(render_gate(result, "md"));
  CHECK(result.passed());
  CHECK(row_for(result, "decode_ms_per_token@ctx512").verdict == GateVerdict::within_noise);

  // 2% slower and clearly significant, but under the 5% allowance.
  const int64_t c = write_run(db, {timed_cell(10.0, 1)});
  const int64_t d = write_run(db, {timed_cell(10.2, 2)});
  result = gate_runs(load(db, c), load(db, d), GateOptions{});
  CHECK(result.passed());
  CHECK(row_for(result, "prefill_ms@len64").verdict == GateVerdict::pass);
}

TEST_CASE_METHOD(ScratchStore,
                 "scores gate on an absolute drop, throughputs on a relative one, single samples on the threshold") {
  auto plan = [](double accuracy, double tokens_per_s, double peak_bytes) {
    CellPlan p;
    p.metrics = {make_metric("accuracy", accuracy), make_metric("train_tokens_per_s", tokens_per_s),
                 make_metric("peak_mem_bytes@train", peak_bytes)};
    return p;
  };
  const int64_t base = write_run(db, {plan(0.90, 1000, 1e6)});
  const int64_t worse = write_run(db, {plan(0.85, 900, 1.2e6)});
  const int64_t close = write_run(db, {plan(0.895, 980, 1.04e6)});
  GateResult result = gate_runs(load(db, base), load(db, worse), GateOptions{});
  CHECK(result.regressions() == 3);
  CHECK_THAT(row_for(result, "accuracy").reason, Contains("dropped by 0.05"));
  result = gate_runs(load(db, base), load(db, close), GateOptions{});
  CHECK(result.passed());
  GateOptions strict;
  strict.max_accuracy_drop = 0.001;
  CHECK(gate_runs(load(db, base), load(db, close), strict).regressions() == 1);
}

TEST_CASE_METHOD(ScratchStore, "a cell that failed or went missing in the candidate fails the gate unless allowed") {
  CellPlan other = timed_cell(10.0, 3);
  other.backend = "linear";
  CellPlan broken = other;
  broken.status = "failed";
  broken.metrics.clear();
  const int64_t base = write_run(db, {timed_cell(10.0, 1), other});
  const int64_t failed = write_run(db, {timed_cell(10.0, 1), broken});
  const int64_t missing = write_run(db, {timed_cell(10.0, 1)});
  GateResult result = gate_runs(load(db, base), load(db, failed), GateOptions{});
  CHECK(result.regressions() == 1);
  CHECK_THAT(render_gate(result, "md"), Contains("cell failed in the candidate: loss became NaN"));
  result = gate_runs(load(db, base), load(db, missing), GateOptions{});
  CHECK(result.regressions() == 1);
  GateOptions lenient;
  lenient.allow_missing = true;
  CHECK(gate_runs(load(db, base), load(db, missing), lenient).passed());

  CellPlan unrelated = timed_cell(10.0, 1);
  unrelated.d_model = 999;
  const int64_t disjoint = write_run(db, {unrelated});
  CHECK_THROWS_WITH(gate_runs(load(db, base), load(db, disjoint), GateOptions{}), Contains("no cell in common"));
}

TEST_CASE_METHOD(ScratchStore, "compare renders Markdown, CSV and JSON with the same rows") {
  const int64_t a = write_run(db, {timed_cell(10.0, 1)});
  const int64_t b = write_run(db, {timed_cell(12.0, 2)});
  const Comparison c = compare_runs(load(db, a), load(db, b), CompareOptions{});
  REQUIRE(c.rows.size() == 3);
  CHECK_THAT(render_comparison(c, "md"), Contains("| prefill_ms@len64 |") && Contains("worse"));
  const auto json = nlohmann::json::parse(render_comparison(c, "json"));
  CHECK(json["rows"].size() == 3);
  const std::string csv = render_comparison(c, "csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 4);
  CHECK_THROWS_AS(render_comparison(c, "xml"), std::invalid_argument);
}

TEST_CASE("the compare and gate commands report across files and exit 0, 1, 2 or 3") {
  testing::TempDir dir;
  const std::string a = dir.file("a.db"), b = dir.file("b.db");
  write_run(a, {timed_cell(10.0, 1)});
  write_run(b, {timed_cell(12.0, 2)});
  write_run(b, {timed_cell(10.0, 3)});

  auto r = testing::run_seqbench("compare " + a + " " + b + ":1 --format json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.output)["rows"].size() == 3);

  r = testing::run_seqbench("gate --baseline " + a + " --candidate " + b + ":1 --max-regression 5%");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Contains("REGRESSED") && Contains("prefill_ms@len64"));
  r = testing::run_seqbench("gate --baseline " + a + " --candidate " + b + ":2");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("PASS"));
  r = testing::run_seqbench("gate --baseline " + a + " --candidate " + b + ":1 --max-regression 25%");
  CHECK(r.exit_code == 0);
  r = testing::run_seqbench("gate --baseline " + a + " --candidate " + b + ":1 --only accuracy");
  CHECK(r.exit_code == 0);
  r = testing::run_seqbench("gate --baseline " + a + " --candidate " + b + ":1 --only prefil_ms");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("prefil_ms") && Contains("matches no metric"));
  r = testing::run_seqbench("gate --baseline " + a + " --candidate " + b + ":1 --only accuracy --only peak_mem");
  CHECK(r.exit_code == 2);
  r = testing::run_seqbench("gate --baseline " + a + " --candidate " + b + ":1 --max-regression 5");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("ambiguous") && Contains("5%") && Contains("500%"));
  r = testing::run_seqbench("gate --baseline " + a + " --candidate " + b + ":1 --max-regression 500%");
  CHECK(r.exit_code == 0);
  r = testing::run_seqbench("compare " + a + " " + b + ":1 --threshold -1");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("seqbench: error: --threshold") && !Contains("17976931348623157"));
  r = testing::run_seqbench("gate --db " + b + " --baseline 2 --candidate 1 --max-regression 0.05");
  CHECK(r.exit_code == 1);

  r = testing::run_seqbench("gate --baseline " + a + " --candidate " + b + " --max-regression lots");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("seqbench: error: --max-regression") && Contains("lots"));
  r = testing::run_seqbench("compare " + a + " " + dir.file("missing.db"));
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.output, Contains("missing.db"));
  r = testing::run_seqbench("compare " + a + ":9 " + b);
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.output, Contains("no run 9"));
}
