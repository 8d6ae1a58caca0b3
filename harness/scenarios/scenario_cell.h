// A scenario cell (harness/scenarios/scenario_spec.h): the model of the cell's training identity,
// trained with the cell runner's learning-rate sweep on the task's flat session layout (selection
// on the valid split, as every cell), then the task's test sessions replayed in the cell's mode
// under its KV policy. Cells that differ only in how they replay sessions (mode, policy, budget,
// compression) share one trained model: a sweep lists them innermost, and the last model trained
// is kept until a cell needs another.
#pragma once
#include <ostream>

#include "harness/cell_runner.h"

namespace seqbench {

CellOutcome run_scenario_cell(const CellSpec& cell, const TaskInstance& task, std::ostream& log);

}  // namespace seqbench
