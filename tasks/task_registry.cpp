// The task registry, parameter resolution and scoring shared by every task.
#include <optional>
#include <stdexcept>
#include <string>

#include "tasks/task.h"
#include "tasks/task_params.h"

// Each task file defines `TaskDefinition <name>_task_definition()`. Adding a task is one line
// in this list (listing order is the order of `task_definitions()`).
#define SEQBENCH_FOR_EACH_TASK(TASK) \
  TASK(mqar)                         \
  TASK(joint_recall)                 \
  TASK(passkey)                      \
  TASK(needle)                       \
  TASK(scbench_kv)                   \
  TASK(scbench_prefix_suffix)        \
  TASK(scbench_vt)                   \
  TASK(scbench_joint_recall)         \
  TASK(scbench_mixed)                \
  /* end of the task list */

namespace seqbench {

#define SEQBENCH_DECLARE_TASK(name) TaskDefinition name##_task_definition();
SEQBENCH_FOR_EACH_TASK(SEQBENCH_DECLARE_TASK)
#undef SEQBENCH_DECLARE_TASK

namespace {

std::string known_task_names() {
  std::string names;
  for (const TaskDefinition& task : task_definitions()) names += (names.empty() ? "" : ", ") + task.name;
  return names;
}

std::string accepted_keys(const nlohmann::json& defaults) {
  std::string keys;
  for (const auto& item : defaults.items()) keys += (keys.empty() ? "" : ", ") + item.key();
  return keys;
}

std::string expected_kind(const nlohmann::json& default_value) {
  if (default_value.is_number_integer()) return "an integer";
  if (default_value.is_number()) return "a number";
  if (default_value.is_boolean()) return "true or false";
  if (default_value.is_string()) return "a string";
  if (default_value.is_array()) return "an array";
  return "an object";
}

// The override in the default's type, or a discarded value when the types do not fit. A null
// default accepts anything; an integer default accepts an integral float (64.0), a float
// default accepts an integer.
nlohmann::json convert_to_default_type(const nlohmann::json& default_value, const nlohmann::json& value) {
  const nlohmann::json mismatch(nlohmann::json::value_t::discarded);
  if (default_value.is_null()) return value;
  if (default_value.is_number_integer()) {
    if (value.is_number_integer()) return value;
    if (value.is_number_float())
      if (const std::optional<int64_t> integral = exact_int64(value.get<double>())) return *integral;
    return mismatch;
  }
  if (default_value.is_number()) return value.is_number() ? nlohmann::json(value.get<double>()) : mismatch;
  return value.type() == default_value.type() ? value : mismatch;
}

}  // namespace

const std::vector<TaskDefinition>& task_definitions() {
#define SEQBENCH_LIST_TASK(name) name##_task_definition(),
  static const std::vector<TaskDefinition> definitions = {SEQBENCH_FOR_EACH_TASK(SEQBENCH_LIST_TASK)};
#undef SEQBENCH_LIST_TASK
  return definitions;
}

const TaskDefinition& find_task(const std::string& name) {
  for (const TaskDefinition& task : task_definitions())
    if (task.name == name) return task;
  throw std::invalid_argument("unknown task '" + name + "'; known tasks: " + known_task_names());
}

nlohmann::json resolve_task_params(const TaskDefinition& task, const nlohmann::json& overrides) {
  nlohmann::json resolved = task.defaults;
  if (overrides.is_null()) return resolved;
  if (!overrides.is_object())
    throw std::invalid_argument("task '" + task.name + "': parameters must be a JSON object, got " +
                                overrides.dump());
  for (const auto& item : overrides.items()) {
    const std::string& key = item.key();
    if (!task.defaults.contains(key))
      throw std::invalid_argument("task '" + task.name + "' has no parameter '" + key +
                                  "'; accepted parameters: " + accepted_keys(task.defaults));
    const nlohmann::json& default_value = task.defaults.at(key);
    nlohmann::json converted = convert_to_default_type(default_value, item.value());
    if (converted.is_discarded())
      throw std::invalid_argument("task '" + task.name + "': parameter '" + key + "' expects " +
                                  expected_kind(default_value) + " (default " + default_value.dump() +
                                  "), got " + item.value().dump());
    resolved[key] = std::move(converted);
  }
  return resolved;
}

TaskInstance build_task(const std::string& name, const nlohmann::json& overrides, uint64_t seed) {
  const TaskDefinition& task = find_task(name);
  nlohmann::json params = resolve_task_params(task, overrides);
  TaskInstance instance = task.build(params, seed);
  instance.name = task.name;
  if (!instance.params.is_object()) instance.params = std::move(params);
  return instance;
}

namespace {

// Examples [begin, end) scored over their labelled positions.
TaskScore score_examples(const TokenDataset& data, const std::vector<int32_t>& predictions, int64_t begin,
                         int64_t end) {
  TaskScore score;
  int64_t correct = 0, exact = 0;
  double example_accuracy_sum = 0;
  for (int64_t i = begin; i < end; ++i) {
    const int32_t* labels = data.label_row(i);
    const int32_t* predicted = predictions.data() + i * data.seq_len;
    int64_t labelled = 0, right = 0;
    for (int64_t t = 0; t < data.seq_len; ++t) {
      if (labels[t] == kIgnoreLabel) continue;
      ++labelled;
      right += (predicted[t] == labels[t]);
    }
    // An example with nothing to score says nothing about exact match, so it is left out.
    if (labelled == 0) continue;
    ++score.examples;
    score.labelled += labelled;
    correct += right;
    exact += (right == labelled);
    example_accuracy_sum += static_cast<double>(right) / labelled;
  }
  score.accuracy = score.labelled > 0 ? static_cast<double>(correct) / score.labelled : 0.0;
  score.exact_match = score.examples > 0 ? static_cast<double>(exact) / score.examples : 0.0;
  score.mean_example_accuracy = score.examples > 0 ? example_accuracy_sum / score.examples : 0.0;
  return score;
}

}  // namespace

TaskScore score_predictions(const TokenDataset& data, const std::vector<int32_t>& predictions) {
  const auto expected = static_cast<size_t>(data.num_examples * data.seq_len);
  if (predictions.size() != expected)
    throw std::invalid_argument("score_predictions: expected " + std::to_string(expected) +
                                " predictions (num_examples=" + std::to_string(data.num_examples) +
                                " x seq_len=" + std::to_string(data.seq_len) + "), got " +
                                std::to_string(predictions.size()));
  if (data.labels.size() != expected)
    throw std::invalid_argument("score_predictions: dataset has " + std::to_string(data.labels.size()) +
                                " labels, expected " + std::to_string(expected));
  if (data.segments.empty()) return score_examples(data, predictions, 0, data.num_examples);
  TaskScore score;
  for (const DatasetSegment& segment : data.segments) {
    const TaskScore part = score_examples(data, predictions, segment.begin, segment.end);
    score.segments.push_back({segment.label, part});
    score.labelled += part.labelled;
    score.examples += part.examples;
    score.accuracy += part.accuracy / data.segments.size();
    score.exact_match += part.exact_match / data.segments.size();
    score.mean_example_accuracy += part.mean_example_accuracy / data.segments.size();
  }
  return score;
}

}  // namespace seqbench
