// Which cells shard i of N runs. The cells are put in an order that depends only on what they are
// (estimated cost, largest first, then stable identity hash: never their position in the sweep
// file) and dealt out round-robin, so every shard gets the same cells on any machine, shards never
// overlap, and each shard gets about 1/N of the cells and of the work.
#pragma once
#include <cstddef>
#include <vector>

#include "harness/cell_spec.h"

namespace seqbench {

// The sweep indices (in sweep order) of the cells in shard `index` of `count`.
std::vector<size_t> shard_cells(const std::vector<CellSpec>& cells, int index, int count);

}  // namespace seqbench
