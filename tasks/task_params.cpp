#include "tasks/task_params.h"

#include <cmath>
#include <stdexcept>

namespace seqbench {
namespace {

const nlohmann::json& lookup(const nlohmann::json& params, const std::string& task,
                             const std::string& key) {
  if (!params.is_object() || !params.contains(key))
    throw std::invalid_argument("task '" + task + "': missing parameter '" + key + "'");
  return params.at(key);
}

[[noreturn]] void wrong_type(const std::string& task, const std::string& key,
                             const nlohmann::json& value, const std::string& expected) {
  throw std::invalid_argument("task '" + task + "': parameter '" + key + "' must be " + expected +
                              ", got " + value.dump());
}

}  // namespace

std::optional<int64_t> exact_int64(double d) {
  // [-2^63, 2^63) holds exactly the doubles whose int64 conversion is defined.
  if (!std::isfinite(d) || d != std::floor(d) || d < -9.2233720368547758e18 || d >= 9.2233720368547758e18)
    return std::nullopt;
  return static_cast<int64_t>(d);
}

int64_t int_task_param(const nlohmann::json& params, const std::string& task, const std::string& key,
                       int64_t min_value, int64_t max_value) {
  const nlohmann::json& value = lookup(params, task, key);
  const std::string range = "an integer in [" + std::to_string(min_value) + ", " +
                            std::to_string(max_value) + "]";
  int64_t result = 0;
  if (value.is_number_unsigned()) {
    const auto u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) wrong_type(task, key, value, range);
    result = static_cast<int64_t>(u);
  } else if (value.is_number_integer()) {
    result = value.get<int64_t>();
  } else if (value.is_number_float()) {
    const std::optional<int64_t> integral = exact_int64(value.get<double>());
    if (!integral) wrong_type(task, key, value, range);
    result = *integral;
  } else {
    wrong_type(task, key, value, range);
  }
  if (result < min_value || result > max_value) wrong_type(task, key, value, range);
  return result;
}

double number_task_param(const nlohmann::json& params, const std::string& task, const std::string& key) {
  const nlohmann::json& value = lookup(params, task, key);
  if (!value.is_number()) wrong_type(task, key, value, "a number");
  return value.get<double>();
}

bool bool_task_param(const nlohmann::json& params, const std::string& task, const std::string& key) {
  const nlohmann::json& value = lookup(params, task, key);
  if (!value.is_boolean()) wrong_type(task, key, value, "true or false");
  return value.get<bool>();
}

}  // namespace seqbench
