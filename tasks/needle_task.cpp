// The "needle" task (datasets/needle_generator.h): RULER's needle-in-a-haystack variants over the
// built-in word vocabulary. Parameters (defaults in needle_defaults):
//   variant       single | multikey | multivalue | multiquery (RULER's niah_single / multikey /
//                 multivalue / multiquery)
//   haystack      filler (repeated sentences, RULER's "repeat") | noise (random common words)
//   seq_len       training (and test) length in word tokens
//   depth         where the first asked needle sits in the test splits (0 = start, 1 = end)
//   train_depth   that needle's depth in the train split; null = uniform random per example
//   num_needles   needles of the multi variants (RULER uses 4); single ignores it
//   value_digits  digits of each value (RULER: 7)
//   instruction   start with RULER's instruction sentences
//   num_train, num_valid, num_test  split sizes, as for every task (tasks/split_sizes.h)
//   test_lengths  as for every recall task (tasks/length_splits.h)
#include "datasets/needle_generator.h"
#include "tasks/recall_task_instance.h"
#include "tasks/structured_task_params.h"
#include "tasks/task_params.h"

namespace seqbench {
namespace {

const char* const kTask = "needle";

nlohmann::json needle_defaults() {
  return {{"variant", "single"},
          {"haystack", "filler"},
          {"seq_len", 256},
          {"depth", 0.5},
          {"train_depth", nullptr},
          {"num_needles", 4},
          {"value_digits", 7},
          {"instruction", true},
          {"num_train", 10000},
          {"num_test", 1000},
          {"num_valid", nullptr},
          {"test_lengths", nlohmann::json::array()}};
}

TaskInstance build_needle(const nlohmann::json& params, uint64_t seed) {
  NeedleParams test_params;
  test_params.variant = parse_needle_variant(
      choice_task_param(params, kTask, "variant", {"single", "multikey", "multivalue", "multiquery"}));
  test_params.haystack = parse_haystack_kind(choice_task_param(params, kTask, "haystack", {"filler", "noise"}));
  test_params.seq_len = static_cast<int>(int_task_param(params, kTask, "seq_len"));
  test_params.depth = fraction_task_param(params, kTask, "depth");
  test_params.num_needles = static_cast<int>(int_task_param(params, kTask, "num_needles"));
  test_params.value_digits = static_cast<int>(int_task_param(params, kTask, "value_digits"));
  test_params.instruction = bool_task_param(params, kTask, "instruction");
  return build_word_recall_task(kTask, params, seed, test_params, validate_needle_params, generate_needle);
}

}  // namespace

TaskDefinition needle_task_definition() {
  return {kTask,
          "Needle in a haystack with RULER's variants (single, multikey, multivalue, multiquery) in "
          "filler or noise text; word tokens, scored on the digits of the asked values",
          needle_defaults(), build_needle};
}

}  // namespace seqbench
