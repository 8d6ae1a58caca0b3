// The flags `seqbench dataset export` and `seqbench score` share to name one split of one task
// instance: --task, --param key=value (repeatable; the value is read as JSON when it parses,
// else as a string), --params-json '{...}' (applied first, --param on top), --seed, --split.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace seqbench {

struct TaskSplitFlags {
  std::string task;
  std::vector<std::string> params;
  std::string params_json;
  uint64_t seed = 0;
  std::string split = "test";  // train, valid, test, or a length split's label such as len512
};

void add_task_split_options(CLI::App& command, TaskSplitFlags& flags);

// The overrides the flags give; throws std::invalid_argument naming a malformed flag.
nlohmann::json task_overrides(const TaskSplitFlags& flags);

// The named split of the built instance; throws std::invalid_argument listing the splits.
const TokenDataset& select_split(const TaskInstance& instance, const std::string& split);

}  // namespace seqbench
