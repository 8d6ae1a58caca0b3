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
//   num_train, num_test, test_lengths  as for every recall task (tasks/length_splits.h)
#include <limits>

#include "datasets/needle_generator.h"
#include "kernels/rng.h"
#include "tasks/length_splits.h"
#include "tasks/structured_task_params.h"
#include "tasks/task_params.h"

namespace seqbench {
namespace {

const char* const kTask = "needle";
constexpr uint64_t kTrainStream = 1;
constexpr uint64_t kTestStream = 2;

nlohmann::json needle_defaults() {
  return {{"variant", "single"},  {"haystack", "filler"},   {"seq_len", 256},
          {"depth", 0.5},         {"train_depth", nullptr}, {"num_needles", 4},
          {"value_digits", 7},    {"instruction", true},    {"num_train", 10000},
          {"num_test", 1000},     {"test_lengths", nlohmann::json::array()}};
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
  NeedleParams train_params = test_params;
  train_params.depth = optional_fraction_task_param(params, kTask, "train_depth");
  const int64_t max_examples = std::numeric_limits<int64_t>::max();
  const int64_t num_train = int_task_param(params, kTask, "num_train", 0, max_examples);
  const int64_t num_test = int_task_param(params, kTask, "num_test", 0, max_examples);
  const std::vector<int> lengths = test_lengths_param(params, kTask);
  auto at_length = [&](int length) {
    NeedleParams p = test_params;
    p.seq_len = length;
    return p;
  };
  validate_needle_params(train_params);
  for (int length : lengths) validate_needle_params(at_length(length));

  TaskInstance instance;
  instance.name = kTask;
  instance.params = params;
  instance.train = generate_needle(train_params, num_train, Rng::derive(seed, kTrainStream));
  instance.tests.push_back({"", generate_needle(test_params, num_test, Rng::derive(seed, kTestStream))});
  add_length_splits(instance, lengths, seed, [&](int length, uint64_t split_seed) {
    return generate_needle(at_length(length), num_test, split_seed);
  });
  instance.vocab_size = instance.train.vocab_size;
  instance.seq_len = train_params.seq_len;
  return instance;
}

}  // namespace

TaskDefinition needle_task_definition() {
  return {kTask,
          "Needle in a haystack with RULER's variants (single, multikey, multivalue, multiquery) in "
          "filler or noise text; word tokens, scored on the digits of the asked values",
          needle_defaults(), build_needle};
}

}  // namespace seqbench
