// Choosing a cell's learning rate on held-out data. Each learning rate of the cell's sweep trains
// a fresh model on the train split, stopping early on the valid split; the model kept is the one
// with the highest valid accuracy (ties: the lower training loss, then the earlier rate). A rate
// whose training loss turned non-finite is `diverged` and never kept. The test splits are not
// an argument: whatever this chooses, it chose without them, and the caller scores the kept model
// on them once.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "harness/model_trainer.h"
#include "models/sequence_model.h"

namespace seqbench {

struct LrAttempt {
  double lr = 0;
  TrainResult result;  // result.diverged: this rate failed and its model was dropped
};

struct LrSelection {
  std::vector<LrAttempt> attempts;        // in the order of the sweep
  std::optional<size_t> best;             // empty when every rate diverged
  std::unique_ptr<SequenceModel> model;   // the kept model (null when every rate diverged)
  int diverged() const;                   // how many rates diverged
};

// `train` carries everything but the learning rate, which each attempt sets from `learning_rates`.
// Progress lines ("lr 0.003 epoch 2/5 step ...") go to `log`.
LrSelection select_learning_rate(const ModelConfig& config, const std::vector<double>& learning_rates,
                                 const TrainConfig& train, const TokenDataset& train_split,
                                 const TokenDataset& valid_split, uint64_t shuffle_seed, std::ostream& log);

// The sweep as stored in a cell's parameters ("lr_sweep"): one object per rate with its status
// ("trained" or "diverged"), valid accuracy, training loss and steps; a diverged rate also has
// "diverged_step" and the loss it reached ("nan", "inf").
nlohmann::json lr_sweep_json(const LrSelection& selection);

// "every learning rate diverged: lr 0.1 at step 3 (loss nan), lr 0.03 at step 40 (loss inf)".
std::string all_diverged_message(const LrSelection& selection);

std::string format_lr(double lr);  // "0.003", "1e-05"

}  // namespace seqbench
