// How a cell replays a scenario task's test sessions (SCBench, Li et al. ICLR 2025, Sec. 2 and
// scbench/eval_utils.py): the mode, the KV policy of the attention layers with its parameters,
// when it compresses, and how many sessions run side by side. A sweep's "scenario" object lists
// these as axes:
//
//   "scenario": {"modes": ["multi-turn", "multi-request", "single-request", "one-pass"],
//                "policies": ["dense", {"name": "snapkv", "budget": [0.25, 0.5]}],
//                "compress": ["first_prefill", "every_turn"], "golden_answers": true,
//                "sessions": 100, "batch": 100}
//
// Modes:
//   multi-turn     context + query 1 prefilled at once (compressed there, SCBench's first prompt),
//                  each later turn appends the golden previous answer and its query (golden_answers
//                  false: the model's own answer); decoded tokens are rolled back.
//   multi-request  the context alone prefilled and compressed once, snapshotted, restored for
//                  every query (SCBench's "scdq", same context different query).
//   single-request a fresh prefill of context + query per turn, compressed there: the upper bound.
//   one-pass       the whole session in one forward, scored at the answer positions (no cache).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace seqbench {

enum class SessionMode { multi_turn, multi_request, single_request, one_pass };
std::string session_mode_name(SessionMode mode);          // "multi-turn", ...
SessionMode parse_session_mode(const std::string& name);  // std::invalid_argument listing the modes

struct ScenarioSpec {
  bool enabled = false;
  SessionMode mode = SessionMode::multi_turn;
  nlohmann::json policy = {{"name", "dense"}};  // as given: {"name": ..., params}; budgets resolve per task
  bool every_turn = false;                      // compress after every turn's new tokens, not only the first prefill
  bool golden_answers = true;                   // multi-turn: append the golden answer (else the model's own)
  int64_t sessions = 100;                       // test sessions evaluated (at most the task's num_test)
  int64_t batch = 100;                          // sessions run side by side

  std::string policy_name() const;
  nlohmann::json to_json() const;
};

// The grid of a sweep's "scenario" object. Throws std::invalid_argument naming the bad key or value.
std::vector<ScenarioSpec> expand_scenario_spec(const nlohmann::json& spec);

// The scenarios that mean something for a backend pattern: KV policies act on softmax layers only,
// so a pattern without one keeps its state as it is (policy dense only); one-pass reads no cache
// (dense only); compression timing matters only to policies that evict.
std::vector<ScenarioSpec> scenarios_for_backend(const std::vector<ScenarioSpec>& scenarios, const std::string& backend);

// Checks a scenario against the task it replays (a scenario task; the policy's parameters against
// the task's context length). Throws std::invalid_argument naming what is wrong.
void check_scenario_task(const ScenarioSpec& scenario, const std::string& task, const nlohmann::json& task_params,
                         uint64_t seed);

}  // namespace seqbench
