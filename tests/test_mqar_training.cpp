#include <catch2/catch.hpp>

#include "harness/model_trainer.h"
#include "models/sequence_model.h"
#include "tasks/task.h"
#include "tests/tiny_mqar.h"

using namespace seqbench;
using seqbench::testing::tiny_model;
using seqbench::testing::tiny_mqar;
using seqbench::testing::tiny_training;

TEST_CASE("softmax attention learns a tiny MQAR to at least 99% test accuracy") {
  const TaskInstance task = tiny_mqar();
  SequenceModel model(tiny_model("softmax", task));
  const double before = evaluate_model(model, task.tests[0].data).accuracy;
  const TrainResult result = train_model(model, task.train, task.tests[0].data, tiny_training(), 3);
  const TaskScore score = evaluate_model(model, task.tests[0].data);
  INFO("steps " << result.steps << ", accuracy before " << before << ", after " << score.accuracy);
  REQUIRE(before < 0.2);
  REQUIRE(score.accuracy >= 0.99);
}

TEST_CASE("linear attention training lowers the loss on the same task") {
  const TaskInstance task = tiny_mqar();
  SequenceModel model(tiny_model("linear", task));
  const TokenDataset& test = task.tests[0].data;
  const double before = model.loss(test.inputs.data(), test.labels.data(), test.num_examples, test.seq_len);
  TrainConfig train = tiny_training();
  train.max_steps = 150;
  train_model(model, task.train, test, train, 3);
  const double after = model.loss(test.inputs.data(), test.labels.data(), test.num_examples, test.seq_len);
  INFO("loss before " << before << ", after " << after);
  REQUIRE(after < before - 0.5);
}
