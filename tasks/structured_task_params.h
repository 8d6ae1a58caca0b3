// Typed reads of task parameters beyond task_params.h's scalars: a choice among names, an
// optional fraction, a list of integers. Errors name the task, the parameter, its value and what
// was expected, as task_params.h's do.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace seqbench {

// A string that is one of `choices`.
std::string choice_task_param(const nlohmann::json& params, const std::string& task, const std::string& key,
                              const std::vector<std::string>& choices);
// A number in [0, 1], or null (nullopt).
std::optional<double> optional_fraction_task_param(const nlohmann::json& params, const std::string& task,
                                                   const std::string& key);
// A number in [0, 1].
double fraction_task_param(const nlohmann::json& params, const std::string& task, const std::string& key);
// A list of integers, each in [min_value, max_value]; an absent key reads as the empty list.
std::vector<int64_t> int_list_task_param(const nlohmann::json& params, const std::string& task,
                                         const std::string& key, int64_t min_value, int64_t max_value);

}  // namespace seqbench
