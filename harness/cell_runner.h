// Runs one cell: builds the model, trains it at each learning rate of the cell's sweep, keeps
// the one best on the valid split, scores it once on every test split, and returns what the store
// records. A cell whose every learning rate diverged comes back with record.status "failed" and
// the reason in record.error (its lr_sweep still in the parameters).
#pragma once
#include <ostream>
#include <vector>

#include "harness/cell_spec.h"
#include "harness/results_store.h"
#include "tasks/task.h"

namespace seqbench {

struct CellOutcome {
  CellRecord record;
  std::vector<Metric> metrics;
};

// Model configuration for a cell on a given task instance (max_seq_len covers every test split).
ModelConfig cell_model_config(const CellSpec& cell, const TaskInstance& task);

CellOutcome run_cell(const CellSpec& cell, const TaskInstance& task, std::ostream& log);

}  // namespace seqbench
