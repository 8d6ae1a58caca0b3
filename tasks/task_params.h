// Typed reads of a task's resolved JSON parameters. Each throws std::invalid_argument naming the
// task, the parameter, its value and what was expected, so a bad sweep cell fails with a message
// that points at the cell's spec.
#pragma once
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace seqbench {

// d as an int64 when it is integral and in range (so 64.0 reads as the integer 64).
std::optional<int64_t> exact_int64(double d);

// An integer (an integral float such as 64.0 is accepted) within [min_value, max_value].
int64_t int_task_param(const nlohmann::json& params, const std::string& task, const std::string& key,
                       int64_t min_value = std::numeric_limits<int32_t>::min(),
                       int64_t max_value = std::numeric_limits<int32_t>::max());
double number_task_param(const nlohmann::json& params, const std::string& task, const std::string& key);
bool bool_task_param(const nlohmann::json& params, const std::string& task, const std::string& key);

}  // namespace seqbench
