#include "harness/cli_task_split.h"

#include <stdexcept>

#include "harness/cli_values.h"

namespace seqbench {

void add_task_split_options(CLI::App& command, TaskSplitFlags& flags) {
  command.add_option("--task", flags.task, "Task name (see `seqbench list tasks`)")->required();
  command.add_option("--param", flags.params, "Task parameter key=value (repeatable; JSON values, e.g. depth=0.25)");
  command.add_option("--params-json", flags.params_json, "Task parameters as a JSON object");
  command.add_option("--seed", flags.seed, "Seed the task's data is generated from")
      ->capture_default_str()
      ->check(as_validator([](const std::string& s) { parse_seed(s); }, "0..2^64-1"));
  command.add_option("--split", flags.split, "train, valid, test, or a length split such as len512")->capture_default_str();
}

nlohmann::json task_overrides(const TaskSplitFlags& flags) {
  nlohmann::json overrides = nlohmann::json::object();
  if (!flags.params_json.empty()) {
    overrides = nlohmann::json::parse(flags.params_json, nullptr, false);
    if (overrides.is_discarded() || !overrides.is_object())
      throw std::invalid_argument("--params-json expects a JSON object, got '" + flags.params_json + "'");
  }
  for (const std::string& param : flags.params) {
    const auto eq = param.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("--param expects key=value, got '" + param + "'");
    const std::string text = param.substr(eq + 1);
    const nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
    overrides[param.substr(0, eq)] = value.is_discarded() ? nlohmann::json(text) : value;
  }
  return overrides;
}

const TokenDataset& select_split(const TaskInstance& instance, const std::string& split) {
  if (split == "train") return instance.train;
  if (split == "valid") return instance.valid;
  if (split == "test" && !instance.tests.empty()) return instance.tests.front().data;
  std::string known = "train, valid, test";
  for (const auto& test : instance.tests) {
    if (test.label.empty()) continue;
    if (test.label == split) return test.data;
    known += ", " + test.label;
  }
  throw std::invalid_argument("task '" + instance.name + "' has no split '" + split + "'; its splits: " + known +
                              " (length splits come from the test_lengths parameter)");
}

}  // namespace seqbench
