// The "joint_recall" task (datasets/joint_recall_generator.h): recall the value of a key in a
// given context. Parameters (defaults in joint_recall_defaults):
//   vocab_size          token ids [0, vocab_size): contexts [1, V/8), keys [V/8, V/2), values [V/2, V)
//   seq_len             training (and test) length
//   num_contexts        context blocks per example, each with its own values for the same keys
//   num_kv_pairs        keys per context
//   num_queries         (context, key) queries per example, distinct, <= num_contexts*num_kv_pairs
//   random_non_queries  filler of the query region: random tokens (true) or 0 (false)
//   num_train, num_test examples per split
//   test_lengths        extra test splits at these lengths ("len<N>", tasks/length_splits.h)
#include <limits>

#include "datasets/joint_recall_generator.h"
#include "kernels/rng.h"
#include "tasks/length_splits.h"
#include "tasks/task_params.h"

namespace seqbench {
namespace {

const char* const kTask = "joint_recall";
constexpr uint64_t kTrainStream = 1;
constexpr uint64_t kTestStream = 2;

nlohmann::json joint_recall_defaults() {
  return {{"vocab_size", 8192},
          {"seq_len", 128},
          {"num_contexts", 4},
          {"num_kv_pairs", 4},
          {"num_queries", 8},
          {"random_non_queries", true},
          {"num_train", 10000},
          {"num_test", 1000},
          {"test_lengths", nlohmann::json::array()}};
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
  const int64_t max_examples = std::numeric_limits<int64_t>::max();
  const int64_t num_train = int_task_param(params, kTask, "num_train", 0, max_examples);
  const int64_t num_test = int_task_param(params, kTask, "num_test", 0, max_examples);
  const std::vector<int> lengths = test_lengths_param(params, kTask);
  auto at_length = [&](int length) {
    JointRecallParams p = train_params;
    p.seq_len = length;
    return p;
  };
  // Every split's shape is checked before any is generated, so a bad length fails fast.
  validate_joint_recall_params(train_params);
  for (int length : lengths) validate_joint_recall_params(at_length(length));

  TaskInstance instance;
  instance.name = kTask;
  instance.params = params;
  instance.train = generate_joint_recall(train_params, num_train, Rng::derive(seed, kTrainStream));
  instance.tests.push_back({"", generate_joint_recall(train_params, num_test, Rng::derive(seed, kTestStream))});
  add_length_splits(instance, lengths, seed, [&](int length, uint64_t split_seed) {
    return generate_joint_recall(at_length(length), num_test, split_seed);
  });
  instance.vocab_size = train_params.vocab_size;
  instance.seq_len = train_params.seq_len;
  return instance;
}

}  // namespace

TaskDefinition joint_recall_task_definition() {
  return {kTask,
          "Joint recall (Zhan et al. 2025): several contexts assign different values to the same keys; "
          "a query names a context and a key, and the model must emit that key's value in that context",
          joint_recall_defaults(), build_joint_recall};
}

}  // namespace seqbench
