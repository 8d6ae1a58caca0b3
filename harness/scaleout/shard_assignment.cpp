#include "harness/scaleout/shard_assignment.h"

#include <algorithm>
#include <string>
#include <tuple>

#include "harness/scaleout/cell_cost.h"
#include "harness/scaleout/cell_identity.h"

namespace seqbench {

std::vector<size_t> shard_cells(const std::vector<CellSpec>& cells, int index, int count) {
  struct Ranked {
    double cost;
    uint64_t hash;
    std::string identity;
    size_t position;
  };
  std::vector<Ranked> ranked;
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string identity = cell_identity(cells[i]);
    const uint64_t hash = stable_hash(identity);
    ranked.push_back({estimated_cell_cost(cells[i]), hash, std::move(identity), i});
  }
  // Identical cells (a sweep that lists one twice) tie on everything; either order deals the same.
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    if (a.cost != b.cost) return a.cost > b.cost;
    return std::tie(a.hash, a.identity) < std::tie(b.hash, b.identity);
  });
  std::vector<size_t> mine;
  for (size_t rank = static_cast<size_t>(index); rank < ranked.size(); rank += static_cast<size_t>(count))
    mine.push_back(ranked[rank].position);
  std::sort(mine.begin(), mine.end());
  return mine;
}

}  // namespace seqbench
