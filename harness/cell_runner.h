// Runs one cell: builds the model, trains it at each learning rate of the cell's sweep, keeps
// the one best on the valid split, scores it once on every test split, and returns what the store
// records. A cell whose every learning rate diverged comes back with record.status "failed" and
// the reason in record.error (its lr_sweep still in the parameters).
#pragma once
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "harness/cell_spec.h"
#include "harness/results_store.h"
#include "models/sequence_model.h"
#include "tasks/task.h"

namespace seqbench {

struct CellOutcome {
  CellRecord record;
  std::vector<Metric> metrics;
};

// The store row describing a cell: backend, task, params (the cell as it ran) and shape; status
// "ok" until the caller says otherwise.
CellRecord cell_record(const CellSpec& cell, const nlohmann::json& params, int64_t seq_len);

// Model configuration for a cell on a given task instance (max_seq_len covers every test split).
ModelConfig cell_model_config(const CellSpec& cell, const TaskInstance& task);

// Chooses the learning rate on the valid split (harness/lr_selection.h), then scores the kept model
// once on every test split into metrics, and records the sweep in params["lr_sweep"]. Returns null,
// with `failure` saying why, when every rate diverged.
std::unique_ptr<SequenceModel> train_best_model(const CellSpec& cell, const TaskInstance& task, const ModelConfig& config,
                                                nlohmann::json& params, std::vector<Metric>& metrics, std::ostream& log,
                                                std::string& failure);

CellOutcome run_cell(const CellSpec& cell, const TaskInstance& task, std::ostream& log);

}  // namespace seqbench
