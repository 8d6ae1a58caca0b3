// The "passkey" task (datasets/passkey_generator.h): find a random number hidden at a given depth
// in repeated filler text. Parameters (defaults in passkey_defaults):
//   seq_len       training (and test) length in word tokens
//   depth         where the pass key line sits in the test splits: 0 = start of the filler,
//                 1 = end; a list in a sweep makes one cell per depth
//   train_depth   depth in the train split; null = uniform random per example, so one recipe
//                 trains for every depth
//   num_digits    digits of the pass key (each one token); exact match needs all of them
//   instruction   start with Mohtashami & Jaggi's task description sentences
//   num_train, num_test, test_lengths  as for every recall task (tasks/length_splits.h)
// Vocabulary: the built-in word vocabulary (datasets/word_vocabulary.h).
#include <limits>

#include "datasets/passkey_generator.h"
#include "kernels/rng.h"
#include "tasks/length_splits.h"
#include "tasks/structured_task_params.h"
#include "tasks/task_params.h"

namespace seqbench {
namespace {

const char* const kTask = "passkey";
constexpr uint64_t kTrainStream = 1;
constexpr uint64_t kTestStream = 2;

nlohmann::json passkey_defaults() {
  return {{"seq_len", 256},     {"depth", 0.5},        {"train_depth", nullptr},
          {"num_digits", 5},    {"instruction", true}, {"num_train", 10000},
          {"num_test", 1000},   {"test_lengths", nlohmann::json::array()}};
}

TaskInstance build_passkey(const nlohmann::json& params, uint64_t seed) {
  PasskeyParams test_params;
  test_params.seq_len = static_cast<int>(int_task_param(params, kTask, "seq_len"));
  test_params.depth = fraction_task_param(params, kTask, "depth");
  test_params.num_digits = static_cast<int>(int_task_param(params, kTask, "num_digits"));
  test_params.instruction = bool_task_param(params, kTask, "instruction");
  PasskeyParams train_params = test_params;
  train_params.depth = optional_fraction_task_param(params, kTask, "train_depth");
  const int64_t max_examples = std::numeric_limits<int64_t>::max();
  const int64_t num_train = int_task_param(params, kTask, "num_train", 0, max_examples);
  const int64_t num_test = int_task_param(params, kTask, "num_test", 0, max_examples);
  const std::vector<int> lengths = test_lengths_param(params, kTask);
  auto at_length = [&](int length) {
    PasskeyParams p = test_params;
    p.seq_len = length;
    return p;
  };
  validate_passkey_params(train_params);
  for (int length : lengths) validate_passkey_params(at_length(length));

  TaskInstance instance;
  instance.name = kTask;
  instance.params = params;
  instance.train = generate_passkey(train_params, num_train, Rng::derive(seed, kTrainStream));
  instance.tests.push_back({"", generate_passkey(test_params, num_test, Rng::derive(seed, kTestStream))});
  add_length_splits(instance, lengths, seed, [&](int length, uint64_t split_seed) {
    return generate_passkey(at_length(length), num_test, split_seed);
  });
  instance.vocab_size = instance.train.vocab_size;
  instance.seq_len = train_params.seq_len;
  return instance;
}

}  // namespace

TaskDefinition passkey_task_definition() {
  return {kTask,
          "Passkey retrieval (Mohtashami & Jaggi 2023): a 5-digit pass key hidden at a chosen depth in "
          "repeated filler text must be repeated at the end; word tokens, scored on the digits",
          passkey_defaults(), build_passkey};
}

}  // namespace seqbench
