#include <catch2/catch.hpp>

#include "harness/model_trainer.h"
#include "models/sequence_model.h"
#include "tasks/task.h"

using namespace seqbench;

namespace {

// Small enough to train in seconds on two cores, large enough that the task needs real recall:
// 4 key-value pairs among 62 keys, queried at power-law distances in a length-32 sequence.
TaskInstance tiny_mqar() {
  return build_task("mqar",
                    {{"vocab_size", 128}, {"seq_len", 32}, {"num_kv_pairs", 4}, {"num_train", 6000}, {"num_test", 300}},
                    11);
}

ModelConfig tiny_model(const std::string& backend, const TaskInstance& task) {
  ModelConfig config;
  config.vocab_size = task.vocab_size;
  config.d_model = 32;
  config.n_layers = 2;
  config.max_seq_len = static_cast<int>(task.seq_len);
  config.mlp_expand = 0;
  config.backend = backend;
  config.seed = 5;
  return config;
}

TrainConfig tiny_training() {
  TrainConfig train;
  train.optimizer.lr = 1e-2;
  train.epochs = 8;
  train.batch_size = 32;
  train.eval_every_steps = 100;
  train.early_stop_accuracy = 0.99;
  return train;
}

}  // namespace

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
