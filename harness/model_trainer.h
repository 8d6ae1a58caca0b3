// Training (AdamW, shuffled mini-batches, early stopping on validation accuracy as Zoology does)
// and evaluation (accuracy on the labelled positions of a split).
#pragma once
#include <cstdint>
#include <functional>

#include "datasets/token_dataset.h"
#include "models/adamw_optimizer.h"
#include "models/sequence_model.h"
#include "tasks/task.h"

namespace seqbench {

struct TrainConfig {
  OptimizerConfig optimizer;
  int64_t batch_size = 32;
  int epochs = 10;
  double early_stop_accuracy = 0.99;  // stop once validation accuracy reaches this (sweeps take (0, 1])
  int64_t max_steps = 0;              // 0: epochs decide
  int64_t eval_every_steps = 0;       // validate (and maybe stop early) every N steps; 0: each epoch
  double time_budget_s = 0;           // 0: no budget
};

struct TrainProgress {
  int epoch = 0;
  int epochs = 0;
  int64_t step = 0;
  int64_t total_steps = 0;
  double train_loss = 0;       // mean over the epoch
  double valid_accuracy = 0;
  double elapsed_s = 0;
  bool epoch_end = true;       // false: a heartbeat during a long epoch (valid_accuracy not fresh)
};

struct TrainResult {
  double final_train_loss = 0;
  double valid_accuracy = 0;
  int64_t steps = 0;
  int epochs_run = 0;
  double seconds = 0;
  double tokens_per_s = 0;     // training tokens processed per second (forward + backward + update)
  bool early_stopped = false;
  bool out_of_time = false;
  // A non-finite training loss stops training at once: a model whose loss is NaN or infinite has
  // left the region where training means anything, and an update from that loss would spread it
  // into every weight. diverged_step is the 1-based step whose loss it was; the accuracy and loss
  // of a diverged result are meaningless, and the caller must not keep its model.
  bool diverged = false;
  int64_t diverged_step = 0;
  double diverged_loss = 0;   // the non-finite value itself (nan, inf or -inf)
};

// Called at the end of every epoch and, on long epochs, every heartbeat_s seconds.
using ProgressCallback = std::function<void(const TrainProgress&)>;
constexpr double kProgressHeartbeatSeconds = 15.0;

TrainResult train_model(SequenceModel& model, const TokenDataset& train, const TokenDataset& valid,
                        const TrainConfig& config, uint64_t shuffle_seed, const ProgressCallback& on_epoch = {});

// Accuracy and exact match on the labelled positions of `data`.
// Sequences scored per forward pass when a model is evaluated.
constexpr int64_t kEvalBatchSize = 64;
TaskScore evaluate_model(SequenceModel& model, const TokenDataset& data, int64_t batch_size = kEvalBatchSize);

}  // namespace seqbench
