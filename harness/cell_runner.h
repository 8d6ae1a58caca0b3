// Runs one cell: builds the model, trains it at each learning rate of the cell's sweep, keeps
// the best, scores it on every test split, and returns what the store records.
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
