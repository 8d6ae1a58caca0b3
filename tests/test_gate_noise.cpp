// The verdicts of compare and gate on noise: a U test that cannot reach alpha does not decide, a
// change must clear the threshold to be called better or worse, a rate follows its timing, and a
// filter that selects nothing is an error.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "reports/compare.h"
#include "reports/gate.h"
#include "reports/mann_whitney.h"
#include "tests/cli_harness.h"
#include "tests/gate_fixtures.h"

using namespace seqbench;
using namespace seqbench::gate_fixtures;
using Catch::Matchers::Contains;

TEST_CASE("three repetitions against three, ten times worse, fail the gate: a U test that cannot fire does not decide") {
  CHECK(smallest_two_sided_p(3, 3) == Approx(0.1));
  CHECK(smallest_two_sided_p(4, 4) == Approx(2.0 / 70));
  CHECK(smallest_two_sided_p(9, 9) < 1e-4);
  testing::TempDir dir;
  const std::string db = dir.file("r.db");
  CellPlan base, slow, same;
  base.metrics = {make_metric("train_step_ms", {10.0, 10.5, 11.0})};
  slow.metrics = {make_metric("train_step_ms", {100.0, 105.0, 110.0})};
  same.metrics = {make_metric("train_step_ms", {10.2, 10.4, 10.9})};
  const int64_t a = write_run(db, {base}), b = write_run(db, {slow}), c = write_run(db, {same});
  GateResult result = gate_runs(load(db, a), load(db, b), GateOptions{});
  CHECK_FALSE(result.passed());
  const GateRow& row = row_for(result, "train_step_ms");
  CHECK(row.verdict == GateVerdict::regressed);
  CHECK_THAT(row.reason, Contains("U test unreliable with 3 vs 3") && Contains("change alone"));
  CHECK(gate_runs(load(db, a), load(db, c), GateOptions{}).passed());

  const Comparison comparison = compare_runs(load(db, a), load(db, b), CompareOptions{});
  REQUIRE(comparison.rows.size() == 1);
  CHECK(comparison.rows[0].verdict() == "worse");
  CHECK(comparison.rows[0].method() == "threshold (U test unreliable)");
  CHECK_THAT(render_comparison(comparison, "md"), Contains("cannot reach p < 0.05") && Contains("smallest p 0.1"));
}

TEST_CASE_METHOD(ScratchStore,
                 "compare calls a change better or worse only beyond noise and beyond the threshold, and shows it") {
  // 1% slower with 20 tight repetitions each: real (p tiny) but too small to matter by default.
  const int64_t a = write_run(db, {timed_cell(10.0, 1)});
  const int64_t b = write_run(db, {timed_cell(10.1, 2)});
  Comparison c = compare_runs(load(db, a), load(db, b), CompareOptions{});
  const auto prefill = [](const Comparison& comparison) {
    for (const auto& r : comparison.rows)
      if (r.metric == "prefill_ms@len64") return r;
    FAIL("no prefill row");
    return comparison.rows.front();
  };
  CHECK(prefill(c).beyond_noise);
  CHECK(prefill(c).change == Approx(0.01).epsilon(0.2));
  CHECK(prefill(c).verdict() == "same");
  CHECK_THAT(render_comparison(c, "md"), Contains("| +0.9% |") && Contains("| change |"));
  CompareOptions sensitive;
  sensitive.threshold = 0.005;
  c = compare_runs(load(db, a), load(db, b), sensitive);
  CHECK(prefill(c).verdict() == "worse");
  CHECK(nlohmann::json::parse(render_comparison(c, "json"))["rows"][0].contains("change"));
}

TEST_CASE_METHOD(ScratchStore, "a rate and the timing it is computed from are one measurement, not two regressions") {
  auto plan = [](double ms) {
    CellPlan p;
    std::vector<double> times = normal_samples(ms, 0.05, 12, 7), rates;
    for (double t : times) rates.push_back(64 / (t / 1000));
    p.metrics = {make_metric("prefill_ms@len64", times), make_metric("prefill_tokens_per_s@len64", rates)};
    return p;
  };
  const int64_t a = write_run(db, {plan(10.0)}), b = write_run(db, {plan(13.0)});
  const GateResult result = gate_runs(load(db, a), load(db, b), GateOptions{});
  CHECK(result.regressions() == 1);
  CHECK(row_for(result, "prefill_ms@len64").verdict == GateVerdict::regressed);
  CHECK_THAT(row_for(result, "prefill_tokens_per_s@len64").reason, Contains("one measurement with prefill_ms@len64"));
  const Comparison c = compare_runs(load(db, a), load(db, b), CompareOptions{});
  CHECK_THAT(render_comparison(c, "md"), Contains("as prefill_ms@len64") && Contains("1 worse") &&
                                             Contains("1 rates follow their timings"));
  // Gated alone, the rate is judged on its own.
  GateOptions rate_only;
  rate_only.only = {"tokens_per_s"};
  CHECK(gate_runs(load(db, a), load(db, b), rate_only).regressions() == 1);
}

TEST_CASE_METHOD(ScratchStore,
                 "a gate filter that matches nothing, or only informational metrics, is an error, not a pass") {
  const int64_t a = write_run(db, {timed_cell(10.0, 1)}), b = write_run(db, {timed_cell(10.0, 2)});
  GateOptions typo;
  typo.only = {"prefil_ms"};
  CHECK_THROWS_WITH(gate_runs(load(db, a), load(db, b), typo), Contains("--only 'prefil_ms' matches no metric") &&
                                                                  Contains("prefill_ms"));
  CompareOptions compare_typo;
  compare_typo.only = {"accuracy", "prefil_ms"};
  CHECK_THROWS_WITH(compare_runs(load(db, a), load(db, b), compare_typo), Contains("prefil_ms"));
  GateOptions informational;
  informational.only = {"best_lr"};
  CHECK_THROWS_WITH(gate_runs(load(db, a), load(db, b), informational), Contains("informational"));
}
