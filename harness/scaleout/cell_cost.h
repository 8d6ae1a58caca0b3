// Longest cells first: a multi-worker run hands out the biggest cells before the small ones, so
// the last cell to finish is a short one and no worker idles while another runs a long tail.
#pragma once
#include <cstddef>
#include <vector>

#include "harness/cell_spec.h"

namespace seqbench {

// A rough size of the cell's work, for ordering only: sequence length x d_model x layers x
// training examples x epochs (at least 1) x learning rates, from the task's resolved parameters
// (a length the task decides at build time counts as 1024).
double estimated_cell_cost(const CellSpec& cell);

// The given cell indices reordered largest estimate first; equal estimates keep their order.
std::vector<size_t> longest_first(const std::vector<CellSpec>& cells, std::vector<size_t> indices);

}  // namespace seqbench
