// The tiny MQAR task, model and training the training tests share: small enough to train in seconds
// on two cores, large enough that the task needs real recall (4 key-value pairs among 62 keys,
// queried at power-law distances in a length-32 sequence).
#pragma once
#include <string>

#include "harness/model_trainer.h"
#include "models/model_config.h"
#include "tasks/task.h"

namespace seqbench::testing {

inline TaskInstance tiny_mqar() {
  return build_task("mqar",
                    {{"vocab_size", 128}, {"seq_len", 32}, {"num_kv_pairs", 4}, {"num_train", 6000}, {"num_test", 300}},
                    11);
}

inline ModelConfig tiny_model(const std::string& backend, const TaskInstance& task) {
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

inline TrainConfig tiny_training() {
  TrainConfig train;
  train.optimizer.lr = 1e-2;
  train.epochs = 8;
  train.batch_size = 32;
  train.eval_every_steps = 100;
  train.early_stop_accuracy = 0.99;
  return train;
}

}  // namespace seqbench::testing
