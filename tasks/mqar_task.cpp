#include "tasks/mqar_task.h"

#include <cstdint>

#include "tasks/mqar_segments.h"
#include "tasks/recall_task_instance.h"
#include "tasks/task_params.h"
#include "tasks/token_vocabulary.h"

namespace seqbench {
namespace {

const char* const kTask = "mqar";

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
      {"num_valid", nullptr},                     // null: num_test (tasks/split_sizes.h)
      {"test_num_kv_pairs", nullptr},             // null: the test split uses num_kv_pairs
      {"test_lengths", nlohmann::json::array()},  // extra test splits "len<N>" (tasks/length_splits.h)
      {"train_segments", nlohmann::json::array()},  // Zoology's training mixture (tasks/mqar_segments.h)
      {"test_segments", nlohmann::json::array()},   // Zoology's test segments, scored as accuracy@kv<N>
  };
}

TaskInstance build_plain(const nlohmann::json& params, uint64_t seed, const MqarParams& train_params);

TaskInstance build_mqar(const nlohmann::json& params, uint64_t seed) {
  const MqarParams train_params = mqar_params_from_json(params);
  const bool segmented = !params.at("train_segments").empty() || !params.at("test_segments").empty();
  TaskInstance instance = segmented ? build_segmented_mqar(params, seed, train_params) : build_plain(params, seed, train_params);
  const int64_t V = train_params.vocab_size;
  instance.vocabulary = id_token_vocabulary(V, {{"key", 1, V / 2 - 1}, {"value", V / 2, V - 1}}, nullptr,
                                            query_filler_note(train_params.random_non_queries, V) +
                                                "; labels sit on the queried keys");
  return instance;
}

TaskInstance build_plain(const nlohmann::json& params, uint64_t seed, const MqarParams& train_params) {
  MqarParams test_params = train_params;
  if (params.contains("test_num_kv_pairs") && !params.at("test_num_kv_pairs").is_null())
    test_params.num_kv_pairs = static_cast<int>(int_task_param(params, kTask, "test_num_kv_pairs"));
  return build_recall_task_instance(kTask, params, seed, train_params, test_params, validate_mqar_params,
                                    generate_mqar);
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
