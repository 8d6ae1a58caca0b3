// Zoology's MQAR mixture: train_segments and test_segments build splits of several lengths, each
// segment scored on its own and the split's accuracy their mean; evaluation and training run each
// segment at its own length, so the padding that stores them together changes nothing.
#include <catch2/catch.hpp>

#include "harness/model_trainer.h"
#include "models/sequence_model.h"
#include "tasks/task.h"

using namespace seqbench;
using Catch::Matchers::Contains;

namespace {

nlohmann::json segmented_params() {
  return {{"vocab_size", 256},
          {"train_segments", {{32, 4, 40}, {64, 8, 24}}},
          {"test_segments", {{32, 4}, {64, 8}, {128, 16}}},
          {"num_valid", 6},
          {"num_test", 5}};
}

ModelConfig small_model(const TaskInstance& task) {
  ModelConfig config;
  config.vocab_size = task.vocab_size;
  config.d_model = 16;
  config.n_layers = 1;
  config.mlp_expand = 0;
  config.position = "none";
  config.max_seq_len = static_cast<int>(task.tests[0].data.seq_len);
  config.seed = 2;
  return config;
}

}  // namespace

TEST_CASE("train and test segments build padded splits whose segments keep their own lengths and labels") {
  const TaskInstance task = build_task("mqar", segmented_params(), 4);
  REQUIRE(task.train.segments.size() == 2);
  CHECK(task.train.num_examples == 64);
  CHECK(task.train.seq_len == 64);
  CHECK(task.train.segments[0].length == 32);
  CHECK(task.train.segments[1].begin == 40);
  const TokenDataset& test = task.tests[0].data;
  REQUIRE(test.segments.size() == 3);
  CHECK(test.seq_len == 128);
  CHECK(test.num_examples == 15);
  CHECK(task.valid.num_examples == 18);
  CHECK(test.segments[2].label == "kv16");
  // Each example of a segment has num_kv_pairs labelled queries, all inside its own length.
  for (const DatasetSegment& s : test.segments)
    for (int64_t i = s.begin; i < s.end; ++i) {
      int64_t labelled = 0;
      for (int64_t t = 0; t < test.seq_len; ++t)
        if (test.label_row(i)[t] != kIgnoreLabel) {
          ++labelled;
          CHECK(t < s.length);
        }
      CHECK(labelled == std::stoi(s.label.substr(2)));
      for (int64_t t = s.length; t < test.seq_len; ++t) CHECK(test.input_row(i)[t] == 0);
    }
  CHECK(task.tests.size() == 1);
  CHECK(task.seq_len == 64);
}

TEST_CASE("a segmented split scores the same as its segments scored apart, and its accuracy is their mean") {
  const TaskInstance task = build_task("mqar", segmented_params(), 4);
  SequenceModel model(small_model(task));
  const TaskScore whole = evaluate_model(model, task.tests[0].data);
  REQUIRE(whole.segments.size() == 3);
  double mean = 0;
  for (size_t s = 0; s < 3; ++s) {
    // The same examples as a plain split of their own length: what the padding must not change.
    const DatasetSegment& seg = task.tests[0].data.segments[s];
    TokenDataset alone;
    alone.num_examples = seg.end - seg.begin;
    alone.seq_len = seg.length;
    alone.vocab_size = task.vocab_size;
    for (int64_t i = seg.begin; i < seg.end; ++i) {
      alone.inputs.insert(alone.inputs.end(), task.tests[0].data.input_row(i), task.tests[0].data.input_row(i) + seg.length);
      alone.labels.insert(alone.labels.end(), task.tests[0].data.label_row(i), task.tests[0].data.label_row(i) + seg.length);
    }
    const TaskScore part = evaluate_model(model, alone);
    CHECK(whole.segments[s].label == seg.label);
    CHECK(whole.segments[s].score.accuracy == part.accuracy);
    CHECK(whole.segments[s].score.labelled == part.labelled);
    mean += part.accuracy / 3;
  }
  CHECK(whole.accuracy == Approx(mean));
  CHECK(whole.labelled == 5 * (4 + 8 + 16));
}

TEST_CASE("training on a mixture takes one step per batch of each segment") {
  const TaskInstance task = build_task("mqar", segmented_params(), 4);
  SequenceModel model(small_model(task));
  TrainConfig train;
  train.epochs = 2;
  train.batch_size = 16;  // 40 examples -> 3 batches, 24 -> 2 batches
  train.early_stop_accuracy = 1.0;
  const TrainResult result = train_model(model, task.train, task.valid, train, 9);
  CHECK(result.steps == 2 * (3 + 2));
  CHECK_FALSE(result.diverged);
}

TEST_CASE("malformed or conflicting segment lists are rejected naming the parameter") {
  auto error_of = [](nlohmann::json params) {
    try {
      build_task("mqar", params, 0);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  nlohmann::json p = segmented_params();
  p["test_segments"] = {{32, 4}, {64, 4}};
  CHECK_THAT(error_of(p), Contains("'test_segments'") && Contains("different num_kv_pairs"));
  p = segmented_params();
  p["train_segments"] = {{32, 4}};
  CHECK_THAT(error_of(p), Contains("'train_segments' expects a list of [seq_len, num_kv_pairs, num_examples]"));
  p = segmented_params();
  p["test_lengths"] = {256};
  CHECK_THAT(error_of(p), Contains("test_segments replaces test_lengths"));
  p = segmented_params();
  p["test_segments"] = {{16, 16}};
  CHECK_THAT(error_of(p), Contains("num_kv_pairs=16 needs seq_len >= 64"));
}
