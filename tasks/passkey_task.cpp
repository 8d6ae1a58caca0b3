// The "passkey" task (datasets/passkey_generator.h): find a random number hidden at a given depth
// in repeated filler text. Parameters (defaults in passkey_defaults):
//   seq_len       training (and test) length in word tokens
//   depth         where the pass key line sits in the test splits: 0 = start of the filler,
//                 1 = end; a list in a sweep makes one cell per depth
//   train_depth   depth in the train split; null = uniform random per example, so one recipe
//                 trains for every depth
//   num_digits    digits of the pass key (each one token); exact match needs all of them
//   instruction   start with Mohtashami & Jaggi's task description sentences
//   num_train, num_valid, num_test  split sizes, as for every task (tasks/split_sizes.h)
//   test_lengths  as for every recall task (tasks/length_splits.h)
// Vocabulary: the built-in word vocabulary (datasets/word_vocabulary.h).
#include "datasets/passkey_generator.h"
#include "tasks/recall_task_instance.h"
#include "tasks/structured_task_params.h"
#include "tasks/task_params.h"

namespace seqbench {
namespace {

const char* const kTask = "passkey";

nlohmann::json passkey_defaults() {
  return {
      {"seq_len", 256},      {"depth", 0.5},       {"train_depth", nullptr}, {"num_digits", 5},
      {"instruction", true}, {"num_train", 10000}, {"num_test", 1000},       {"num_valid", nullptr},
      {"test_lengths", nlohmann::json::array()}};
}

TaskInstance build_passkey(const nlohmann::json& params, uint64_t seed) {
  PasskeyParams test_params;
  test_params.seq_len = static_cast<int>(int_task_param(params, kTask, "seq_len"));
  test_params.depth = fraction_task_param(params, kTask, "depth");
  test_params.num_digits = static_cast<int>(int_task_param(params, kTask, "num_digits"));
  test_params.instruction = bool_task_param(params, kTask, "instruction");
  return build_word_recall_task(kTask, params, seed, test_params, validate_passkey_params, generate_passkey);
}

}  // namespace

TaskDefinition passkey_task_definition() {
  return {kTask,
          "Passkey retrieval (Mohtashami & Jaggi 2023): a 5-digit pass key hidden at a chosen depth in "
          "repeated filler text must be repeated at the end; word tokens, scored on the digits",
          passkey_defaults(), build_passkey};
}

}  // namespace seqbench
