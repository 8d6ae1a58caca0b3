// Scenario settings of a cell and their expansion from a sweep (scenario_spec.h).
#include "harness/scenarios/scenario_spec.h"

#include <set>
#include <stdexcept>

#include "harness/enum_names.h"
#include "harness/sweep.h"
#include "mixers/softmax/kv_policies/kv_policy.h"
#include "models/model_config.h"
#include "tasks/scenarios/scenario_tasks.h"
#include "tasks/task.h"

namespace seqbench {
namespace {

const std::set<std::string> kScenarioKeys{"modes", "policies", "compress", "golden_answers", "sessions", "batch"};

[[noreturn]] void fail(const std::string& key, const std::string& what) {
  throw std::invalid_argument("scenario." + key + ": " + what);
}

std::vector<nlohmann::json> listed(const nlohmann::json& spec, const char* key, const nlohmann::json& fallback) {
  const nlohmann::json value = spec.value(key, fallback);
  if (!value.is_array()) return {value};
  if (value.empty()) fail(key, "is an empty list");
  return std::vector<nlohmann::json>(value.begin(), value.end());
}

int64_t positive(const nlohmann::json& spec, const char* key, int64_t fallback) {
  const nlohmann::json value = spec.value(key, nlohmann::json(fallback));
  if (!value.is_number_integer() || value.get<int64_t>() < 1)
    fail(key, "expected an integer >= 1, got " + value.dump());
  return value.get<int64_t>();
}

}  // namespace

constexpr EnumName<SessionMode> kSessionModeNames[] = {{SessionMode::multi_turn, "multi-turn"},
                                                        {SessionMode::multi_request, "multi-request"},
                                                        {SessionMode::single_request, "single-request"},
                                                        {SessionMode::one_pass, "one-pass"}};

std::string session_mode_name(SessionMode mode) {
  return name_in(kSessionModeNames, mode, "?");
}

SessionMode parse_session_mode(const std::string& name) {
  if (const std::optional<SessionMode> mode = value_named(kSessionModeNames, name)) return *mode;
  throw std::invalid_argument("unknown session mode '" + name + "'; expected " + names_listed(kSessionModeNames));
}

std::string ScenarioSpec::policy_name() const { return policy.value("name", std::string("dense")); }

nlohmann::json ScenarioSpec::to_json() const {
  return {{"mode", session_mode_name(mode)},
          {"policy", policy},
          {"compress", every_turn ? "every_turn" : "first_prefill"},
          {"golden_answers", golden_answers},
          {"sessions", sessions},
          {"batch", batch}};
}

std::vector<ScenarioSpec> expand_scenario_spec(const nlohmann::json& spec) {
  if (!spec.is_object()) throw std::invalid_argument("scenario: expected a JSON object, got " + spec.dump());
  for (auto it = spec.begin(); it != spec.end(); ++it)
    if (!kScenarioKeys.count(it.key())) {
      std::string known;
      for (const auto& k : kScenarioKeys) known += (known.empty() ? "" : ", ") + k;
      throw std::invalid_argument("scenario: unknown key '" + it.key() + "' (known: " + known + ")");
    }
  const nlohmann::json golden = spec.value("golden_answers", nlohmann::json(true));
  if (!golden.is_boolean()) fail("golden_answers", "expected true or false, got " + golden.dump());
  ScenarioSpec base;
  base.enabled = true;
  base.golden_answers = golden.get<bool>();
  base.sessions = positive(spec, "sessions", base.sessions);
  base.batch = positive(spec, "batch", base.batch);

  std::vector<nlohmann::json> policies;
  for (const nlohmann::json& entry : listed(spec, "policies", "dense")) {
    nlohmann::json object = entry.is_string() ? nlohmann::json{{"name", entry}} : entry;
    if (!object.is_object() || !object.contains("name") || !object["name"].is_string())
      fail("policies", "each entry must be a policy name or an object with a \"name\", got " + entry.dump());
    for (const nlohmann::json& combo : expand_axes(object)) {
      make_kv_policy(combo, 1000);  // names and parameter names now; budgets against each task later
      policies.push_back(combo);
    }
  }
  std::vector<ScenarioSpec> out;
  for (const nlohmann::json& mode : listed(spec, "modes", "multi-turn")) {
    if (!mode.is_string()) fail("modes", "expected mode names, got " + mode.dump());
    for (const nlohmann::json& policy : policies)
      for (const nlohmann::json& compress : listed(spec, "compress", "first_prefill")) {
        if (compress != "first_prefill" && compress != "every_turn")
          fail("compress", "expected first_prefill or every_turn, got " + compress.dump());
        ScenarioSpec s = base;
        s.mode = parse_session_mode(mode.get<std::string>());
        s.policy = policy;
        s.every_turn = compress == "every_turn";
        out.push_back(std::move(s));
      }
  }
  return out;
}

std::vector<ScenarioSpec> scenarios_for_backend(const std::vector<ScenarioSpec>& scenarios,
                                                const std::string& backend) {
  bool has_softmax = false;
  for (const std::string& kind : parse_backend_pattern(backend)) has_softmax = has_softmax || kind == "softmax";
  std::vector<ScenarioSpec> out;
  std::set<std::string> seen;
  for (ScenarioSpec s : scenarios) {
    const bool dense = s.policy_name() == "dense";
    if ((!has_softmax || s.mode == SessionMode::one_pass) && !dense) continue;
    if (!make_kv_policy(s.policy, 1000)->evicts()) s.every_turn = false;
    if (seen.insert(s.to_json().dump()).second) out.push_back(std::move(s));
  }
  return out;
}

void check_scenario_task(const ScenarioSpec& scenario, const std::string& task, const nlohmann::json& task_params,
                         uint64_t seed) {
  if (!is_scenario_task(task))
    throw std::invalid_argument("task '" + task +
                                "' has no sessions to replay; a \"scenario\" needs a scenario task "
                                "(scbench_kv, scbench_prefix_suffix, scbench_vt, scbench_joint_recall, scbench_mixed)");
  nlohmann::json probe = resolve_task_params(find_task(task), task_params);
  const int64_t num_test = probe.at("num_test").get<int64_t>();
  if (scenario.sessions > num_test)
    throw std::invalid_argument("scenario.sessions is " + std::to_string(scenario.sessions) + " but task '" + task +
                                "' has num_test " + std::to_string(num_test) + " sessions");
  probe["num_train"] = probe["num_valid"] = probe["num_test"] = 1;
  const std::vector<Session> one = scenario_sessions(task, probe, seed, SessionSplit::test);
  make_kv_policy(scenario.policy, static_cast<int64_t>(one.front().context.size()));
}

}  // namespace seqbench
