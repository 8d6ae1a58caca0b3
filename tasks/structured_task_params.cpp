#include "tasks/structured_task_params.h"

#include <stdexcept>

#include "tasks/task_params.h"

namespace seqbench {
namespace {

[[noreturn]] void wrong_value(const std::string& task, const std::string& key, const nlohmann::json& value,
                              const std::string& expected) {
  throw std::invalid_argument("task '" + task + "': parameter '" + key + "' must be " + expected + ", got " +
                              value.dump());
}

const nlohmann::json& lookup(const nlohmann::json& params, const std::string& task, const std::string& key) {
  if (!params.is_object() || !params.contains(key))
    throw std::invalid_argument("task '" + task + "': missing parameter '" + key + "'");
  return params.at(key);
}

}  // namespace

std::string choice_task_param(const nlohmann::json& params, const std::string& task, const std::string& key,
                              const std::vector<std::string>& choices) {
  const nlohmann::json& value = lookup(params, task, key);
  std::string listed;
  for (const auto& choice : choices) listed += (listed.empty() ? "" : ", ") + choice;
  if (value.is_string())
    for (const auto& choice : choices)
      if (value.get<std::string>() == choice) return choice;
  wrong_value(task, key, value, "one of " + listed);
}

std::optional<double> optional_fraction_task_param(const nlohmann::json& params, const std::string& task,
                                                   const std::string& key) {
  const nlohmann::json& value = lookup(params, task, key);
  if (value.is_null()) return std::nullopt;
  if (!value.is_number() || !(value.get<double>() >= 0.0 && value.get<double>() <= 1.0))
    wrong_value(task, key, value, "a number in [0, 1] or null");
  return value.get<double>();
}

double fraction_task_param(const nlohmann::json& params, const std::string& task, const std::string& key) {
  const nlohmann::json& value = lookup(params, task, key);
  if (!value.is_number() || !(value.get<double>() >= 0.0 && value.get<double>() <= 1.0))
    wrong_value(task, key, value, "a number in [0, 1]");
  return value.get<double>();
}

std::vector<int64_t> int_list_task_param(const nlohmann::json& params, const std::string& task,
                                         const std::string& key, int64_t min_value, int64_t max_value) {
  if (!params.is_object() || !params.contains(key)) return {};
  const nlohmann::json& value = params.at(key);
  const std::string expected =
      "a list of integers in [" + std::to_string(min_value) + ", " + std::to_string(max_value) + "]";
  if (!value.is_array()) wrong_value(task, key, value, expected);
  std::vector<int64_t> out;
  for (const auto& item : value) {
    const nlohmann::json wrapped = {{key, item}};
    try {
      out.push_back(int_task_param(wrapped, task, key, min_value, max_value));
    } catch (const std::invalid_argument&) {
      wrong_value(task, key, value, expected);
    }
  }
  return out;
}

}  // namespace seqbench
