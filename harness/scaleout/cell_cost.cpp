#include "harness/scaleout/cell_cost.h"

#include <algorithm>

#include "tasks/task.h"

namespace seqbench {
namespace {

double number_or(const nlohmann::json& params, const char* key, double fallback) {
  const auto it = params.find(key);
  return it != params.end() && it->is_number() ? it->get<double>() : fallback;
}

}  // namespace

double estimated_cell_cost(const CellSpec& cell) {
  nlohmann::json params = cell.task_params;
  try {
    params = resolve_task_params(find_task(cell.task), cell.task_params);
  } catch (const std::exception&) {
    // An unknown task or bad parameter is validate_sweep's to report; rank it by its overrides.
  }
  const double seq_len = number_or(params, "seq_len", 1024);
  const double examples = std::max(1.0, number_or(params, "num_train", 1));
  const double epochs = std::max(1, cell.train.epochs);
  const double learning_rates = std::max<size_t>(1, cell.learning_rates.size());
  return seq_len * cell.d_model * cell.n_layers * examples * epochs * learning_rates;
}

std::vector<size_t> longest_first(const std::vector<CellSpec>& cells, std::vector<size_t> indices) {
  std::vector<double> cost(cells.size(), 0);
  for (size_t i : indices) cost[i] = estimated_cell_cost(cells[i]);
  std::stable_sort(indices.begin(), indices.end(), [&](size_t a, size_t b) { return cost[a] > cost[b]; });
  return indices;
}

}  // namespace seqbench
