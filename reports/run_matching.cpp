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
    const nlohmann::json params = parsed_params(row.cell);
    if (params.contains("seed") && params["seed"].is_number_unsigned()) cell.seed = params["seed"].get<uint64_t>();
    // One figure per name: a session's per-turn figures are compared through their aggregate (turn 0).
    for (const MetricRow& m : store.metrics(row.id))
      if (m.metric.turn == 0) cell.metrics.push_back(m.metric);
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

bool is_unlabelled_task_param(const std::string& key) {
  return key == "num_train" || key == "num_test" || key == "num_valid" || key == "train_segments" ||
         key == "test_segments";
}

std::string cell_label(const CellRecord& cell) {
  const nlohmann::json params = parsed_params(cell);
  if (params.contains("benchmark") && params["benchmark"].is_string()) return params["benchmark"].get<std::string>();
  std::string out = backend_label(cell.backend, params) + " " + cell.task;
  const auto task = params.value("task_params", nlohmann::json::object());
  if (task.is_object())
    for (auto it = task.begin(); it != task.end(); ++it)
      if (!is_unlabelled_task_param(it.key())) out += " " + it.key() + "=" + it.value().dump();
  out += " d=" + std::to_string(cell.d_model) + " L=" + std::to_string(cell.layers);
  const auto scenario = params.value("scenario", nlohmann::json::object());  // session cells (harness/scenarios/)
  if (scenario.is_object() && scenario.contains("mode")) {
    const auto policy = scenario.value("policy", nlohmann::json::object());
    out += " " + scenario.value("mode", std::string()) + " " + policy.value("name", std::string("dense"));
    for (auto it = policy.begin(); it != policy.end(); ++it)
      if (it.key() != "name") out += " " + it.key() + "=" + it.value().dump();
    if (scenario.value("compress", std::string()) == "every_turn") out += " every-turn";
  }
  return out;
}

std::vector<CellPair> pair_cells(const LoadedRun& baseline, const LoadedRun& candidate) {
  std::map<std::string, int> occurrences;  // key -> most cells of it in either run
  for (const LoadedRun* run : {&baseline, &candidate}) {
    std::map<std::string, int> here;
    for (const LoadedCell& cell : run->cells) ++here[cell.key];
    for (const auto& [key, n] : here) occurrences[key] = std::max(occurrences[key], n);
  }
  std::map<const LoadedCell*, bool> claimed;
  auto find_partner = [&](const LoadedCell& cell, bool same_seed) -> const LoadedCell* {
    for (const LoadedCell& other : candidate.cells)
      if (!claimed[&other] && other.key == cell.key && (!same_seed || other.seed == cell.seed)) return &other;
    return nullptr;
  };
  auto label_of = [&](const LoadedCell* b, const LoadedCell* c) {
    const LoadedCell& any = b ? *b : *c;
    if (b && c && b->seed != c->seed)
      return any.label + " seed " + std::to_string(b->seed) + " vs " + std::to_string(c->seed);
    return occurrences[any.key] > 1 ? any.label + " seed " + std::to_string(any.seed) : any.label;
  };
  std::vector<CellPair> pairs(baseline.cells.size());
  for (size_t i = 0; i < baseline.cells.size(); ++i) {  // first the same seed
    pairs[i].baseline = &baseline.cells[i];
    if ((pairs[i].candidate = find_partner(baseline.cells[i], true))) claimed[pairs[i].candidate] = true;
  }
  for (CellPair& pair : pairs)  // then any seed still free
    if (!pair.candidate && (pair.candidate = find_partner(*pair.baseline, false))) claimed[pair.candidate] = true;
  for (const LoadedCell& cell : candidate.cells)
    if (!claimed[&cell]) pairs.push_back({nullptr, &cell, ""});
  for (CellPair& pair : pairs) pair.label = label_of(pair.baseline, pair.candidate);
  return pairs;
}

const Metric* find_metric(const LoadedCell& cell, const std::string& name) {
  for (const Metric& m : cell.metrics)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace seqbench
