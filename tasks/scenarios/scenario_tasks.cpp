// Task definitions of the scenario tasks: parameters, splits, vocabularies (scenario_tasks.h).
// Every split comes from its own seed stream (the recall tasks' streams, tasks/recall_task_instance.h).
#include "tasks/scenarios/scenario_tasks.h"

#include <functional>
#include <stdexcept>

#include "datasets/scenarios/scenario_generators.h"
#include "datasets/scenarios/scenario_tokens.h"
#include "tasks/recall_task_instance.h"
#include "tasks/split_sizes.h"
#include "tasks/task.h"
#include "tasks/task_params.h"
#include "tasks/token_vocabulary.h"

namespace seqbench {
namespace {

using namespace scenario_tokens;

struct SessionSource {
  std::function<Session(Rng&)> write;
  int32_t vocab_size = 0;
  std::vector<TokenRange> ranges;
};

struct ScenarioTask {
  const char* name;
  const char* description;
  nlohmann::json own_defaults;
  SessionSource (*source)(const nlohmann::json& params, const std::string& task);
};

int param(const nlohmann::json& params, const std::string& task, const char* key, int lo = 0, int hi = 1 << 20) {
  return static_cast<int>(int_task_param(params, task, key, lo, hi));
}

SessionSource kv_source(const nlohmann::json& j, const std::string& task) {
  KvSessionParams p{param(j, task, "num_records", 1), param(j, task, "key_tokens", 1),
                    param(j, task, "value_tokens", 1), param(j, task, "num_symbols", 2),
                    param(j, task, "num_turns", 1)};
  validate_kv_session_params(p);
  const int32_t S = p.num_symbols;
  return {[p](Rng& rng) { return generate_kv_session(p, rng); },
          kv_session_vocab_size(p),
          {{"key", kFirstSymbol, kFirstSymbol + S - 1}, {"value", kFirstSymbol + S, kFirstSymbol + 2 * S - 1}}};
}

SessionSource prefix_suffix_source(const nlohmann::json& j, const std::string& task) {
  PrefixSuffixParams p;
  p.num_strings = param(j, task, "num_strings", 1);
  p.prefix_tokens = param(j, task, "prefix_tokens", 1);
  p.middle_tokens = param(j, task, "middle_tokens", 1);
  p.suffix_tokens = param(j, task, "suffix_tokens", 1);
  p.num_symbols = param(j, task, "num_symbols", 2);
  p.distractors = bool_task_param(j, task, "distractors");
  p.num_turns = param(j, task, "num_turns", 1);
  validate_prefix_suffix_params(p);
  return {[p](Rng& rng) { return generate_prefix_suffix_session(p, rng); },
          prefix_suffix_vocab_size(p),
          {{"symbol", kFirstSymbol, kFirstSymbol + p.num_symbols - 1}}};
}

SessionSource variable_tracking_source(const nlohmann::json& j, const std::string& task) {
  VariableTrackingParams p;
  p.num_chains = param(j, task, "num_chains", 1);
  p.hops = param(j, task, "hops");
  p.noise_statements = param(j, task, "noise_statements");
  p.num_names = param(j, task, "num_names", 1);
  p.num_values = param(j, task, "num_values", 1);
  p.num_turns = param(j, task, "num_turns", 1);
  validate_variable_tracking_params(p);
  const int32_t names_end = kFirstSymbol + p.num_names;
  return {[p](Rng& rng) { return generate_variable_tracking_session(p, rng); },
          variable_tracking_vocab_size(p),
          {{"name", kFirstSymbol, names_end - 1}, {"value", names_end, names_end + p.num_values - 1}}};
}

SessionSource joint_recall_source(const nlohmann::json& j, const std::string& task) {
  JointRecallSessionParams p{param(j, task, "num_contexts", 1), param(j, task, "num_keys", 1),
                             param(j, task, "num_values", 2), param(j, task, "num_turns", 1)};
  validate_joint_recall_session_params(p);
  const int32_t keys = kFirstSymbol + p.num_values, contexts = keys + p.num_keys;
  return {[p](Rng& rng) { return generate_joint_recall_session(p, rng); },
          joint_recall_session_vocab_size(p),
          {{"value", kFirstSymbol, keys - 1},
           {"key", keys, contexts - 1},
           {"context", contexts, contexts + p.num_contexts - 1}}};
}

SessionSource mixed_source(const nlohmann::json& j, const std::string& task) {
  MixedSessionParams p;
  p.kv = {param(j, task, "num_records", 1), param(j, task, "key_tokens", 1), param(j, task, "value_tokens", 1),
          param(j, task, "num_symbols", 2), param(j, task, "num_turns", 1)};
  p.passkey_digits = param(j, task, "passkey_digits", 1);
  validate_mixed_session_params(p);
  const int32_t S = p.kv.num_symbols, digits = kFirstSymbol + 2 * S;
  return {[p](Rng& rng) { return generate_mixed_session(p, rng); },
          mixed_session_vocab_size(p),
          {{"key", kFirstSymbol, kFirstSymbol + S - 1},
           {"value", kFirstSymbol + S, digits - 1},
           {"digit", digits, digits + 9},
           {"pass key index", digits + 10, digits + 17}}};
}

const std::vector<ScenarioTask>& scenario_tasks() {
  static const std::vector<ScenarioTask> tasks{
      {"scbench_kv",
       "SCBench Retr.KV sessions: `key : value ,` records with multi-token keys and values shared by T turns, "
       "each asking a different key",
       {{"num_records", 16}, {"key_tokens", 2}, {"value_tokens", 2}, {"num_symbols", 64}},
       kv_source},
      {"scbench_prefix_suffix",
       "SCBench Retr.Prefix-Suffix sessions: find the middle of the string with a given prefix and suffix, "
       "among distractors sharing one of them",
       {{"num_strings", 16},
        {"prefix_tokens", 1},
        {"middle_tokens", 2},
        {"suffix_tokens", 1},
        {"num_symbols", 32},
        {"distractors", true}},
       prefix_suffix_source},
      {"scbench_vt",
       "Variable tracking sessions (RULER VT, SCBench Retr.MultiHop): name every variable a value flows to "
       "through a chain of assignments, one chain per turn",
       {{"num_chains", 5}, {"hops", 2}, {"noise_statements", 4}, {"num_names", 64}, {"num_values", 32}},
       variable_tracking_source},
      {"scbench_joint_recall",
       "Joint recall sessions: a table of context blocks `C k v k v ...`; each turn asks a key of a different block",
       {{"num_contexts", 5}, {"num_keys", 4}, {"num_values", 16}},
       joint_recall_source},
      {"scbench_mixed",
       "Mixed sessions (SCBench Mix): kv records with pass key lines among them; turns alternate a retrieval "
       "and a pass key",
       {{"num_records", 16}, {"key_tokens", 2}, {"value_tokens", 2}, {"num_symbols", 64}, {"passkey_digits", 4}},
       mixed_source},
  };
  return tasks;
}

const ScenarioTask& scenario_task(const std::string& name) {
  for (const ScenarioTask& task : scenario_tasks())
    if (name == task.name) return task;
  throw std::invalid_argument("'" + name +
                              "' is not a scenario task (scbench_kv, scbench_prefix_suffix, scbench_vt, "
                              "scbench_joint_recall, scbench_mixed)");
}

nlohmann::json defaults_of(const ScenarioTask& task) {
  nlohmann::json d = task.own_defaults;
  d["num_turns"] = 5;
  d["num_train"] = 8000;
  d["num_valid"] = nullptr;  // null: num_test (tasks/split_sizes.h)
  d["num_test"] = 100;
  return d;
}

uint64_t split_stream(SessionSplit split) {
  switch (split) {
    case SessionSplit::train:
      return kRecallTrainStream;
    case SessionSplit::valid:
      return kRecallValidStream;
    case SessionSplit::test:
      return kRecallTestStream;
  }
  return kRecallTestStream;
}

std::vector<Session> split_sessions(const SessionSource& source, const nlohmann::json& params, const std::string& task,
                                    uint64_t seed, SessionSplit split) {
  const SplitSizes sizes = split_sizes_param(params, task);
  const int64_t count = split == SessionSplit::train   ? sizes.num_train
                        : split == SessionSplit::valid ? sizes.num_valid
                                                       : sizes.num_test;
  return generate_sessions(count, Rng::derive(seed, split_stream(split)), source.write);
}

TaskInstance build_scenario_task(const ScenarioTask& task, const nlohmann::json& params, uint64_t seed) {
  const SessionSource source = task.source(params, task.name);
  TaskInstance instance;
  instance.name = task.name;
  instance.params = with_split_sizes(params, split_sizes_param(params, task.name));
  auto data = [&](SessionSplit split) {
    return sessions_to_dataset(split_sessions(source, params, task.name, seed, split), source.vocab_size);
  };
  instance.train = data(SessionSplit::train);
  instance.valid = data(SessionSplit::valid);
  instance.tests.push_back({"", data(SessionSplit::test)});
  instance.vocab_size = source.vocab_size;
  instance.seq_len = instance.train.seq_len;
  instance.vocabulary = id_token_vocabulary(
      source.vocab_size, source.ranges,
      {{"PAD", kPad},
       {"BOS", kBos},
       {"QUERY", kQuery},
       {":", kColon},
       {",", kComma},
       {"=", kEquals},
       {";", kSemicolon},
       {"PASS", kPass}},
      "one session per example: the context, then each turn's question and answer; labels sit before each "
      "answer token");
  return instance;
}

TaskDefinition definition(const char* name) {
  const ScenarioTask& task = scenario_task(name);
  return {task.name, task.description, defaults_of(task),
          [&task](const nlohmann::json& params, uint64_t seed) { return build_scenario_task(task, params, seed); }};
}

}  // namespace

bool is_scenario_task(const std::string& name) {
  for (const ScenarioTask& task : scenario_tasks())
    if (name == task.name) return true;
  return false;
}

std::vector<Session> scenario_sessions(const std::string& name, const nlohmann::json& resolved_params, uint64_t seed,
                                       SessionSplit split) {
  const ScenarioTask& task = scenario_task(name);
  return split_sessions(task.source(resolved_params, task.name), resolved_params, task.name, seed, split);
}

TaskDefinition scbench_kv_task_definition() { return definition("scbench_kv"); }
TaskDefinition scbench_prefix_suffix_task_definition() { return definition("scbench_prefix_suffix"); }
TaskDefinition scbench_vt_task_definition() { return definition("scbench_vt"); }
TaskDefinition scbench_joint_recall_task_definition() { return definition("scbench_joint_recall"); }
TaskDefinition scbench_mixed_task_definition() { return definition("scbench_mixed"); }

}  // namespace seqbench
