// What a person sees while a run trains: each cell's progress with elapsed time and an ETA, and
// one line per evaluation (an early stop is reported once).
#include <catch2/catch.hpp>

#include <vector>

#include "harness/model_trainer.h"
#include "harness/sweep_runner.h"
#include "models/sequence_model.h"
#include "tasks/task.h"

using namespace seqbench;
using Catch::Matchers::Contains;

TEST_CASE("the progress line counts cells, the time spent, and an ETA once a cell has finished") {
  CHECK(progress_line(0, 12, 0.4) == "[1/12] elapsed 0s  ");
  CHECK(progress_line(3, 12, 64) == "[4/12] elapsed 1m04s, ETA 3m12s  ");
  CHECK(progress_line(11, 12, 7260) == "[12/12] elapsed 2h01m, ETA 11m00s  ");
  CHECK(duration_text(59.6) == "1m00s");
}

TEST_CASE("an early stop inside an epoch reports its evaluation once, not again at the epoch's end") {
  const TaskInstance task =
      build_task("mqar", {{"vocab_size", 64}, {"seq_len", 16}, {"num_kv_pairs", 2}, {"num_train", 64}, {"num_test", 256}}, 1);
  ModelConfig config;
  config.vocab_size = task.vocab_size;
  config.d_model = 16;
  config.n_layers = 1;
  config.max_seq_len = 16;
  config.mlp_expand = 0;
  SequenceModel model(config);
  TrainConfig train;
  train.epochs = 3;
  train.batch_size = 8;          // eight steps an epoch
  train.eval_every_steps = 2;    // evaluates after step 2, inside the first epoch
  train.early_stop_accuracy = 1e-9;  // any accuracy stops it there
  std::vector<TrainProgress> reports;
  const TrainResult result =
      train_model(model, task.train, task.tests[0].data, train, 3, [&](const TrainProgress& p) { reports.push_back(p); });
  CHECK(result.early_stopped);
  CHECK(result.steps == 2);
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].step == 2);
  CHECK(reports[0].epoch_end);
}
