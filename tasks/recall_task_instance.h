// The splits of a recall task whose examples come from one generator: a train split, a valid split
// and a test split at the trained length, and one test split per "test_lengths" entry
// (tasks/length_splits.h), each from its own seed stream. The task reads its generator's
// parameters; this reads the split sizes (tasks/split_sizes.h) and "test_lengths", checks every
// split's parameters before generating any (so a bad length fails fast), and generates the splits.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ops/rng.h"
#include "tasks/length_splits.h"
#include "tasks/split_sizes.h"
#include "tasks/structured_task_params.h"
#include "tasks/task.h"
#include "tasks/task_params.h"
#include "tasks/token_vocabulary.h"

namespace seqbench {

// Seed labels of the train, test and valid splits: distinct streams, so they never share draws.
// Valid came last and took a new label, so train and test are what they were before it existed.
constexpr uint64_t kRecallTrainStream = 1;
constexpr uint64_t kRecallTestStream = 2;
constexpr uint64_t kRecallValidStream = 3;

// Params: a generator's parameter struct with an int seq_len. validate(const Params&) throws
// std::invalid_argument on impossible parameters; generate(const Params&, int64_t num_examples,
// uint64_t seed) returns a TokenDataset. The valid split is drawn like the test split (test_params),
// since it stands in for the test when a learning rate or a stopping point is chosen; the length
// splits are test_params at each length.
template <class Params, class Validate, class Generate>
TaskInstance build_recall_task_instance(const std::string& task, const nlohmann::json& params, uint64_t seed,
                                        const Params& train_params, const Params& test_params, Validate validate,
                                        Generate generate) {
  const SplitSizes sizes = split_sizes_param(params, task);
  const std::vector<int> lengths = test_lengths_param(params, task);
  auto at_length = [&](int length) {
    Params p = test_params;
    p.seq_len = length;
    return p;
  };
  validate(train_params);
  validate(test_params);
  for (int length : lengths) validate(at_length(length));

  TaskInstance instance;
  instance.name = task;
  instance.params = with_split_sizes(params, sizes);
  instance.train = generate(train_params, sizes.num_train, Rng::derive(seed, kRecallTrainStream));
  instance.valid = generate(test_params, sizes.num_valid, Rng::derive(seed, kRecallValidStream));
  instance.tests.push_back({"", generate(test_params, sizes.num_test, Rng::derive(seed, kRecallTestStream))});
  add_length_splits(instance, lengths, seed, [&](int length, uint64_t split_seed) {
    return generate(at_length(length), sizes.num_test, split_seed);
  });
  instance.vocab_size = instance.train.vocab_size;
  instance.seq_len = train_params.seq_len;
  return instance;
}

// A recall task in word tokens (needle, passkey): its training examples may hide their item at
// another depth ("train_depth"; absent: a random depth per example) than the test's, and its
// instance carries the word vocabulary so that predictions can be read back as words.
template <class Params, class Validate, class Generate>
TaskInstance build_word_recall_task(const std::string& task, const nlohmann::json& params, uint64_t seed,
                                    const Params& test_params, Validate validate, Generate generate) {
  Params train_params = test_params;
  train_params.depth = optional_fraction_task_param(params, task, "train_depth");
  TaskInstance instance =
      build_recall_task_instance(task, params, seed, train_params, test_params, validate, generate);
  instance.vocabulary = word_token_vocabulary();
  return instance;
}

}  // namespace seqbench
