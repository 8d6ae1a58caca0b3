#include "tasks/mqar_task.h"

#include <cstdint>
#include <limits>

#include "kernels/rng.h"
#include "tasks/length_splits.h"
#include "tasks/task_params.h"

namespace seqbench {
namespace {

const char* const kTask = "mqar";

// Seed labels of the two splits: distinct streams, so train and test never share examples'
// random draws.
constexpr uint64_t kTrainStream = 1;
constexpr uint64_t kTestStream = 2;

nlohmann::json mqar_defaults() {
  return {
      {"vocab_size", 8192},
      {"seq_len", 64},
      {"num_kv_pairs", 4},
      {"power_a", 0.01},
      {"num_passes", 1},
      {"random_non_queries", true},
      {"num_train", 10000},
      {"num_test", 1000},
      {"test_num_kv_pairs", nullptr},  // null: the test split uses num_kv_pairs
      {"test_lengths", nlohmann::json::array()},  // extra test splits "len<N>" (tasks/length_splits.h)
  };
}

TaskInstance build_mqar(const nlohmann::json& params, uint64_t seed) {
  const MqarParams train_params = mqar_params_from_json(params);
  MqarParams test_params = train_params;
  if (params.contains("test_num_kv_pairs") && !params.at("test_num_kv_pairs").is_null())
    test_params.num_kv_pairs = static_cast<int>(int_task_param(params, kTask, "test_num_kv_pairs"));
  const int64_t max_examples = std::numeric_limits<int64_t>::max();
  const int64_t num_train = int_task_param(params, kTask, "num_train", 0, max_examples);
  const int64_t num_test = int_task_param(params, kTask, "num_test", 0, max_examples);
  const std::vector<int> lengths = test_lengths_param(params, kTask);
  auto at_length = [&](int length) {
    MqarParams p = test_params;
    p.seq_len = length;
    return p;
  };
  // Validate every split before generating any, so a bad test shape fails fast.
  validate_mqar_params(train_params);
  validate_mqar_params(test_params);
  for (int length : lengths) validate_mqar_params(at_length(length));

  TaskInstance instance;
  instance.name = kTask;
  instance.params = params;
  instance.train = generate_mqar(train_params, num_train, Rng::derive(seed, kTrainStream));
  instance.tests.push_back({"", generate_mqar(test_params, num_test, Rng::derive(seed, kTestStream))});
  add_length_splits(instance, lengths, seed, [&](int length, uint64_t split_seed) {
    return generate_mqar(at_length(length), num_test, split_seed);
  });
  instance.vocab_size = train_params.vocab_size;
  instance.seq_len = train_params.seq_len;
  return instance;
}

}  // namespace

MqarParams mqar_params_from_json(const nlohmann::json& params) {
  MqarParams p;
  p.vocab_size = static_cast<int>(int_task_param(params, kTask, "vocab_size"));
  p.seq_len = static_cast<int>(int_task_param(params, kTask, "seq_len"));
  p.num_kv_pairs = static_cast<int>(int_task_param(params, kTask, "num_kv_pairs"));
  p.power_a = number_task_param(params, kTask, "power_a");
  p.num_passes = static_cast<int>(int_task_param(params, kTask, "num_passes"));
  p.random_non_queries = bool_task_param(params, kTask, "random_non_queries");
  return p;
}

TaskDefinition mqar_task_definition() {
  return {kTask,
          "Multi-query associative recall (Zoology): read key-value pairs, then emit the value of "
          "each key when it is queried again",
          mqar_defaults(), build_mqar};
}

}  // namespace seqbench
