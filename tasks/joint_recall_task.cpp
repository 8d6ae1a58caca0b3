// The "joint_recall" task (datasets/joint_recall_generator.h): recall the value of a key in a
// given context. Parameters (defaults in joint_recall_defaults):
//   vocab_size          token ids [0, vocab_size): contexts [1, V/8), keys [V/8, V/2), values [V/2, V)
//   seq_len             training (and test) length
//   num_contexts        context blocks per example, each with its own values for the same keys
//   num_kv_pairs        keys per context
//   num_queries         (context, key) queries per example, distinct, <= num_contexts*num_kv_pairs
//   random_non_queries  filler of the query region: random tokens (true) or 0 (false)
//   num_train, num_valid, num_test  split sizes (tasks/split_sizes.h)
//   test_lengths        extra test splits at these lengths ("len<N>", tasks/length_splits.h)

#include "datasets/joint_recall_generator.h"
#include "tasks/recall_task_instance.h"
#include "tasks/task_params.h"

namespace seqbench {
namespace {

const char* const kTask = "joint_recall";

nlohmann::json joint_recall_defaults() {
  return {{"vocab_size", 8192}, {"seq_len", 128},   {"num_contexts", 4},
          {"num_kv_pairs", 4},  {"num_queries", 8}, {"random_non_queries", true},
          {"num_train", 10000}, {"num_test", 1000}, {"num_valid", nullptr}, {"test_lengths", nlohmann::json::array()}};
}

JointRecallParams joint_recall_params_from_json(const nlohmann::json& params) {
  JointRecallParams p;
  p.vocab_size = static_cast<int>(int_task_param(params, kTask, "vocab_size"));
  p.seq_len = static_cast<int>(int_task_param(params, kTask, "seq_len"));
  p.num_contexts = static_cast<int>(int_task_param(params, kTask, "num_contexts"));
  p.num_kv_pairs = static_cast<int>(int_task_param(params, kTask, "num_kv_pairs"));
  p.num_queries = static_cast<int>(int_task_param(params, kTask, "num_queries"));
  p.random_non_queries = bool_task_param(params, kTask, "random_non_queries");
  return p;
}

TaskInstance build_joint_recall(const nlohmann::json& params, uint64_t seed) {
  const JointRecallParams train_params = joint_recall_params_from_json(params);
  // One shape for training and testing: the test split differs only in its seed stream.
  return build_recall_task_instance(kTask, params, seed, train_params, train_params, validate_joint_recall_params,
                                    generate_joint_recall);
}

}  // namespace

TaskDefinition joint_recall_task_definition() {
  return {kTask,
          "Joint recall (Zhan et al. 2025): several contexts assign different values to the same keys; "
          "a query names a context and a key, and the model must emit that key's value in that context",
          joint_recall_defaults(), build_joint_recall};
}

}  // namespace seqbench
