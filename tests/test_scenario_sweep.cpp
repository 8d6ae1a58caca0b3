// A sweep's "scenario" object (harness/scenarios/scenario_spec.h): its axes expand innermost,
// policies reach only the layers they act on, and bad settings are refused before anything runs.
#include <catch2/catch.hpp>

#include "harness/sweep.h"
#include "tests/cli_harness.h"

using namespace seqbench;

namespace {

nlohmann::json sweep_with(const nlohmann::json& scenario, const nlohmann::json& task_name = "scbench_kv") {
  return {{"backends", {"softmax", "gla"}},
          {"tasks", {{{"name", task_name}, {"num_records", 8}, {"num_train", 4}, {"num_test", 4}}}},
          {"model", {{"d_model", 16}, {"n_layers", 2}, {"n_heads", 2}}},
          {"scenario", scenario}};
}

}  // namespace

TEST_CASE("scenario axes expand innermost and policies reach only softmax layers", "[sweep][sessions]") {
  const Sweep sweep = expand_sweep(
      sweep_with({{"modes", {"multi-turn", "one-pass"}},
                  {"policies", {"dense", {{"name", "snapkv"}, {"budget", {8, 16}}, {"window", 4}}, "kivi"}},
                  {"compress", {"first_prefill", "every_turn"}},
                  {"sessions", 4}}));
  std::vector<std::string> cells;
  for (const CellSpec& c : sweep.cells)
    cells.push_back(c.backend + " " + session_mode_name(c.scenario.mode) + " " + c.scenario.policy_name() +
                    (c.scenario.every_turn ? " every" : ""));
  // softmax: dense and kivi do not evict (one cell each), snapkv at two budgets and two timings;
  // one-pass reads no cache (dense only); gla has no softmax layer (dense only).
  CHECK(cells == std::vector<std::string>{"softmax multi-turn dense", "softmax multi-turn snapkv",
                                          "softmax multi-turn snapkv every", "softmax multi-turn snapkv",
                                          "softmax multi-turn snapkv every", "softmax multi-turn kivi",
                                          "softmax one-pass dense", "gla multi-turn dense", "gla one-pass dense"});
  CHECK(sweep.cells[1].to_json()["scenario"]["policy"]["budget"] == 8);
  CHECK(sweep.cells[3].to_json()["scenario"]["policy"]["budget"] == 16);
}

TEST_CASE("a scenario's bad settings are sweep errors that name the value", "[sweep][sessions]") {
  CHECK_THROWS_WITH(
      expand_sweep(sweep_with({{"policies", {{{"name", "snapkv"}, {"budget", 4}}}}})),
      Catch::Matchers::Contains("kv policy 'snapkv': window (8) must be smaller than the budget (4 tokens)"));
  CHECK_THROWS_WITH(expand_sweep(sweep_with({{"modes", {"multi-turns"}}})),
                    Catch::Matchers::Contains("unknown session mode 'multi-turns'"));
  CHECK_THROWS_WITH(expand_sweep(sweep_with({{"policy", "dense"}})),
                    Catch::Matchers::Contains("scenario: unknown key 'policy'"));
  CHECK_THROWS_WITH(expand_sweep(sweep_with({{"sessions", 10}})),
                    Catch::Matchers::Contains("scenario.sessions is 10 but task 'scbench_kv' has num_test 4 sessions"));
  CHECK_THROWS_WITH(expand_sweep(sweep_with(nlohmann::json::object(), "mqar")),
                    Catch::Matchers::Contains("task 'mqar' has no sessions to replay"));
  // A budget as a fraction resolves against the task's context (8 records: 49 tokens): 0.1 is 5.
  CHECK_THROWS_WITH(expand_sweep(sweep_with({{"sessions", 4}, {"policies", {{{"name", "snapkv"}, {"budget", 0.1}}}}})),
                    Catch::Matchers::Contains("must be smaller than the budget (5 tokens)"));
}

TEST_CASE("run refuses a bad scenario with exit code 2 before storing anything", "[sweep][sessions][cli]") {
  testing::TempDir dir;
  const std::string sweep = dir.file("sweep.json");
  std::ofstream(sweep)
      << sweep_with({{"sessions", 4}, {"policies", {{{"name", "h2o"}, {"budget", 4}, {"recent", 6}}}}}).dump();
  const auto r = testing::run_seqbench("run --sweep " + sweep + " --db " + dir.file("r.db"));
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Matchers::Contains("kv policy 'h2o': recent (6) must be at most the budget (4 tokens)"));
}
