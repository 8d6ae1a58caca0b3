#include "reports/run_matching.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "reports/backend_label.h"

namespace seqbench {
namespace {

std::optional<int64_t> parse_run_number(const std::string& text, const std::string& whole) {
  if (text == "latest") return std::nullopt;
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 18)
    throw std::invalid_argument("run reference '" + whole + "': expected a run id (a positive integer) or 'latest', got '" +
                                text + "'");
  return std::stoll(text);
}

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

nlohmann::json parsed_params(const CellRecord& cell) {
  nlohmann::json params = nlohmann::json::parse(cell.params_json, nullptr, false);
  return params.is_object() ? params : nlohmann::json::object();
}

void erase_path(nlohmann::json& obj, const char* section, const char* key) {
  if (obj.contains(section) && obj[section].is_object()) obj[section].erase(key);
}

}  // namespace

RunRef parse_run_ref(const std::string& text, const std::string& default_db) {
  if (text.empty()) throw std::invalid_argument("run reference is empty; expected RUN, latest, FILE.db or FILE.db:RUN");
  RunRef ref;
  if (all_digits(text) || text == "latest") {
    ref.db_path = default_db;
    ref.run_id = parse_run_number(text, text);
    return ref;
  }
  const auto colon = text.rfind(':');
  const std::string suffix = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (colon != std::string::npos && (all_digits(suffix) || suffix == "latest")) {
    ref.db_path = text.substr(0, colon);
    ref.run_id = parse_run_number(suffix, text);
  } else {
    ref.db_path = text;
  }
  if (ref.db_path.empty()) throw std::invalid_argument("run reference '" + text + "' names no results file");
  return ref;
}

std::string LoadedRun::label() const {
  std::string out = "run " + std::to_string(run.id) + " of " + db_path + " (" + run.info.suite;
  if (!run.info.git_sha.empty()) out += ", git " + run.info.git_sha.substr(0, 12);
  return out + ", " + run_status_name(run.status) + ")";
}

LoadedRun load_run(const RunRef& ref) {
  // Read-only: comparing never creates, converts or marks anything in either file.
  ResultsStore store(ref.db_path, StoreAccess::read_only);
  auto run = ref.run_id ? store.run(*ref.run_id) : store.latest_run();
  if (!run)
    throw StoreError(ref.run_id ? "no run " + std::to_string(*ref.run_id) + " in " + ref.db_path
                                : "no runs in " + ref.db_path);
  LoadedRun loaded;
  loaded.run = *run;
  loaded.db_path = ref.db_path;
  for (const CellRow& row : store.cells(run->id)) {
    LoadedCell cell;
    cell.row = row;
    cell.key = cell_match_key(row.cell);
    cell.label = cell_label(row.cell);
    for (const MetricRow& m : store.metrics(row.id)) cell.metrics.push_back(m.metric);
    loaded.cells.push_back(std::move(cell));
  }
  return loaded;
}

std::string cell_match_key(const CellRecord& cell) {
  nlohmann::json params = parsed_params(cell);
  for (const char* key : {"seed", "device", "lr_sweep", "task_params_resolved"}) params.erase(key);
  erase_path(params, "train", "time_budget_s");
  for (const char* key : {"target_rel_noise", "budget_s", "warmup", "min_repetitions", "max_repetitions"})
    erase_path(params, "profile", key);
  // nlohmann::json keeps object keys sorted, so dump() is a canonical form.
  return cell.backend + "|" + cell.task + "|" + params.dump();
}

std::string cell_label(const CellRecord& cell) {
  const nlohmann::json params = parsed_params(cell);
  if (params.contains("benchmark") && params["benchmark"].is_string()) return params["benchmark"].get<std::string>();
  std::string out = backend_label(cell.backend, params) + " " + cell.task;
  const auto task = params.value("task_params", nlohmann::json::object());
  if (task.is_object())
    for (auto it = task.begin(); it != task.end(); ++it)
      if (it.key() != "num_train" && it.key() != "num_test") out += " " + it.key() + "=" + it.value().dump();
  return out + " d=" + std::to_string(cell.d_model) + " L=" + std::to_string(cell.layers);
}

std::vector<CellPair> pair_cells(const LoadedRun& baseline, const LoadedRun& candidate) {
  std::map<std::string, std::vector<const LoadedCell*>> unclaimed;
  for (const LoadedCell& cell : candidate.cells) unclaimed[cell.key].push_back(&cell);
  std::map<std::string, size_t> next;
  std::vector<CellPair> pairs;
  for (const LoadedCell& cell : baseline.cells) {
    auto& list = unclaimed[cell.key];
    size_t& k = next[cell.key];
    pairs.push_back({&cell, k < list.size() ? list[k] : nullptr});
    ++k;
  }
  for (const LoadedCell& cell : candidate.cells) {
    const auto& list = unclaimed[cell.key];
    const size_t position = static_cast<size_t>(std::find(list.begin(), list.end(), &cell) - list.begin());
    if (position >= next[cell.key]) pairs.push_back({nullptr, &cell});
  }
  return pairs;
}

const Metric* find_metric(const LoadedCell& cell, const std::string& name) {
  for (const Metric& m : cell.metrics)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace seqbench
