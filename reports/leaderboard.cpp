#include "reports/leaderboard.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>
#include <stdexcept>

#include "reports/backend_label.h"
#include "reports/heatmap.h"
#include "reports/html_report.h"
#include "reports/metric_columns.h"
#include "reports/run_matching.h"
#include "reports/metric_catalog.h"
#include "reports/scenario_report.h"
#include "reports/seed_groups.h"
#include "reports/table_text.h"

namespace seqbench {
namespace {

std::string task_params_label(const nlohmann::json& params) {
  std::string out;
  const auto task = params.value("task_params", nlohmann::json::object());
  for (auto it = task.begin(); it != task.end(); ++it) {
    if (is_unlabelled_task_param(it.key())) continue;
    out += (out.empty() ? "" : " ") + it.key() + "=" + it.value().dump();
  }
  return out;
}

std::string fixed(double v, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", digits, v);
  return buffer;
}

std::string metric_or_dash(const LeaderboardRow& row, const std::string& name) {
  auto it = row.metrics.find(name);
  return it == row.metrics.end() ? "-" : metric_value_text(name, it->second);
}

// The Markdown columns of one task's rows: every metric shown_in_markdown that a row has.
std::vector<std::string> markdown_metric_columns(const std::vector<const LeaderboardRow*>& rows) {
  std::set<std::string> names;
  for (const auto* row : rows)
    for (const auto& m : row->metrics)
      if (shown_in_markdown(m.first)) names.insert(m.first);
  return ordered_metric_names(names);
}

bool any_row_has(const std::vector<const LeaderboardRow*>& rows, const std::string& name) {
  return std::any_of(rows.begin(), rows.end(), [&](const LeaderboardRow* r) { return r->metrics.count(name) > 0; });
}



// Accuracy pivot: one row per (backend, d_model), one column per value of the single task
// parameter that varies within the task (e.g. num_kv_pairs), as Zoology's figures read.
void render_pivot(std::ostringstream& out, const std::vector<const LeaderboardRow*>& rows) {
  std::map<std::string, std::set<std::string>> values;
  for (const auto* row : rows) {
    const auto task = row->params.value("task_params", nlohmann::json::object());
    for (auto it = task.begin(); it != task.end(); ++it)
      if (!is_unlabelled_task_param(it.key())) values[it.key()].insert(it.value().dump());
  }
  std::string axis;
  for (const auto& [key, vals] : values)
    if (vals.size() > 1) {
      if (!axis.empty()) return;  // more than one varying parameter: the flat table says it all
      axis = key;
    }
  if (axis.empty()) return;
  std::vector<std::string> columns(values[axis].begin(), values[axis].end());
  std::sort(columns.begin(), columns.end(), [](const std::string& a, const std::string& b) {
    try {
      return std::stod(a) < std::stod(b);
    } catch (...) {
      return a < b;
    }
  });
  // Several seeds of a cell share one table cell: their mean, with how many there are.
  std::map<std::string, std::map<std::string, std::string>> table;
  for (const SeedGroup& group : group_by_seed(rows)) {
    const LeaderboardRow* row = group.rows.front();
    const std::string key = backend_label(row->backend, row->params) + " | " + std::to_string(row->d_model);
    const auto task = row->params.value("task_params", nlohmann::json::object());
    const SeedSummary accuracy = group.summary("accuracy");
    std::string text = accuracy.n == 0 ? "-" : metric_value_text("accuracy", accuracy.mean);
    if (accuracy.n > 1) text += " (n=" + std::to_string(accuracy.n) + ")";
    table[key][task.value(axis, nlohmann::json()).dump()] = text;
  }
  out << "\nAccuracy by " << axis << ":\n\n| backend | d_model |";
  for (const auto& c : columns) out << " " << axis << "=" << c << " |";
  out << "\n|---|---|";
  for (size_t i = 0; i < columns.size(); ++i) out << "---|";
  out << "\n";
  for (const auto& [key, cells] : table) {
    out << "| " << key << " |";
    for (const auto& c : columns) out << " " << (cells.count(c) ? cells.at(c) : "-") << " |";
    out << "\n";
  }
}

// One row per cell over its seeds: every score column as mean [95% interval] and the seeds
// behind it. Only when some cell ran with more than one seed.
void render_across_seeds(std::ostringstream& out, const std::vector<const LeaderboardRow*>& rows,
                         const std::vector<std::string>& columns) {
  const std::vector<SeedGroup> groups = group_by_seed(rows);
  if (!has_repeated_seeds(groups)) return;
  std::vector<std::string> scores;
  for (const auto& c : columns)
    if (is_score_metric(c)) scores.push_back(c);
  out << "\nAcross seeds (mean [95% interval], n seeds):\n\n| backend | d_model | layers | task params | seeds |";
  for (const auto& c : scores) out << " " << metric_header(c) << " |";
  out << "\n|---|---:|---:|---|---|";
  for (size_t i = 0; i < scores.size(); ++i) out << "---:|";
  out << "\n";
  for (const SeedGroup& group : groups) {
    const LeaderboardRow* row = group.rows.front();
    std::string seeds;
    for (uint64_t seed : group.seeds()) seeds += (seeds.empty() ? "" : ",") + std::to_string(seed);
    out << "| " << md_cell(backend_label(row->backend, row->params)) << " | " << row->d_model << " | " << row->layers
        << " | " << md_cell(row->task_params) << " | " << seeds << " |";
    for (const auto& c : scores) out << " " << seed_summary_text(c, group.summary(c)) << " |";
    out << "\n";
  }
}

}  // namespace

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return fixed(bytes, u == 0 ? 0 : 1) + " " + units[u];
}

std::string missing_cells_note(const Leaderboard& board) {
  const int64_t planned = board.run.info.cells_planned, stored = static_cast<int64_t>(board.rows.size());
  if (planned <= stored) return "";
  return std::to_string(stored) + " of " + std::to_string(planned) + " planned cells stored, " +
         std::to_string(planned - stored) + " missing";
}

bool leaderboard_order(const LeaderboardRow* a, const LeaderboardRow* b) {
  auto accuracy = [](const LeaderboardRow* r) {
    auto it = r->metrics.find("accuracy");
    return it == r->metrics.end() ? -1.0 : it->second;
  };
  return accuracy(a) > accuracy(b);
}

Leaderboard load_leaderboard(const ResultsStore& store, std::optional<int64_t> run_id) {
  Leaderboard board;
  auto run = run_id ? store.run(*run_id) : store.latest_run();
  if (!run)
    throw StoreError(run_id ? "no run " + std::to_string(*run_id) + " in " + store.path()
                            : "no runs in " + store.path() + " yet; run `seqbench run` first");
  board.run = *run;
  for (const auto& cell : store.cells(run->id)) {
    LeaderboardRow row;
    row.cell_id = cell.id;
    row.params = nlohmann::json::parse(cell.cell.params_json, nullptr, false);
    if (row.params.is_discarded()) row.params = nlohmann::json::object();
    row.backend = cell.cell.backend;
    row.task = cell.cell.task;
    row.task_params = task_params_label(row.params);
    row.seq_len = cell.cell.seq_len;
    row.d_model = cell.cell.d_model;
    row.layers = cell.cell.layers;
    row.state_bytes = cell.cell.state_bytes;
    row.status = cell.cell.status;
    row.error = cell.cell.error;
    for (const auto& m : store.metrics(cell.id)) {
      if (m.metric.turn != 0) {  // per-turn figures of sessions: reports/scenario_report.h
        row.per_turn[m.metric.name][m.metric.turn] = m.metric.value;
        continue;
      }
      row.metrics[m.metric.name] = m.metric.value;
      row.details[m.metric.name] = m.metric;
    }
    board.rows.push_back(std::move(row));
  }
  return board;
}

std::string render_markdown(const Leaderboard& board) {
  std::ostringstream out;
  const RunRow& run = board.run;
  const std::string missing = missing_cells_note(board);
  out << "# seqbench leaderboard: run " << run.id << " (" << run.info.suite << ")\n\n"
      << "status " << run_status_name(run.status) << (missing.empty() ? "" : ": " + missing) << ", started "
      << run.info.started_at << ", device " << run.info.device << ", git " << run.info.git_sha.substr(0, 12) << ", seed "
      << run.info.seed << "\n";
  std::map<std::string, std::vector<const LeaderboardRow*>> by_task;
  for (const auto& row : board.rows)
    if (!is_scenario_row(row)) by_task[row.task].push_back(&row);  // session cells: their own section
  for (auto& [task, rows] : by_task) {
    std::stable_sort(rows.begin(), rows.end(), leaderboard_order);
    const std::vector<std::string> columns = markdown_metric_columns(rows);
    const bool trained = any_row_has(rows, "train_seconds");
    const bool seeded = has_repeated_seeds(group_by_seed(rows));  // rows per seed: say which
    out << "\n## " << task << "\n\n| backend | d_model | layers | task params |" << (seeded ? " seed |" : "")
        << " state |";
    for (const auto& c : columns) out << " " << metric_header(c) << " |";
    out << (trained ? " train s |" : "") << " status |\n|---|---:|---:|---|" << (seeded ? "---:|" : "") << "---:|";
    for (size_t i = 0; i < columns.size(); ++i) out << "---:|";
    out << (trained ? "---:|" : "") << "---|\n";
    for (const auto* row : rows) {
      out << "| " << md_cell(backend_label(row->backend, row->params)) << " | " << row->d_model << " | " << row->layers
          << " | " << md_cell(row->task_params) << " |" << (seeded ? " " + std::to_string(row_seed(*row)) + " |" : "")
          << " " << format_bytes(static_cast<double>(row->state_bytes)) << " |";
      for (const auto& c : columns) out << " " << metric_or_dash(*row, c) << " |";
      if (trained) {
        auto it = row->metrics.find("train_seconds");
        out << " " << (it == row->metrics.end() ? "-" : fixed(it->second, 1)) << " |";
      }
      out << " " << md_cell(row->status + (row->error.empty() ? "" : ": " + row->error)) << " |\n";
    }
    render_across_seeds(out, rows, columns);
    render_pivot(out, rows);
    out << render_depth_length_heatmap(rows);
  }
  out << render_scenario_markdown(board);
  return out.str();
}

// One row per cell and metric ("long" form): the unit and the repetition statistics travel with
// each value, and no metric name can collide with a cell column. A cell without metrics (failed)
// is one row with the metric fields empty.
std::string render_csv(const Leaderboard& board) {
  std::ostringstream out;
  out.precision(10);
  // seed: the cell's; seeds_*: the metric over every seed of the same cell (n, mean, 95% interval).
  out << "run_id,cell_id,backend,task,task_params,seq_len,d_model,layers,state_bytes,status,seed,metric,unit,value,n,"
         "min,max,stddev,seeds_n,seeds_mean,seeds_ci_low,seeds_ci_high\n";
  const std::vector<SeedGroup> groups = group_by_seed(board);
  std::map<const LeaderboardRow*, const SeedGroup*> group_of;
  for (const SeedGroup& g : groups)
    for (const auto* r : g.rows) group_of[r] = &g;
  for (const auto& row : board.rows) {
    std::ostringstream cell;
    cell << board.run.id << "," << row.cell_id << "," << csv_field(backend_label(row.backend, row.params)) << ","
         << csv_field(row.task) << "," << csv_field(row.task_params) << "," << row.seq_len << "," << row.d_model << ","
         << row.layers << "," << row.state_bytes << "," << csv_field(row.status) << "," << row_seed(row) << ",";
    std::set<std::string> names;
    for (const auto& m : row.metrics) names.insert(m.first);
    if (names.empty()) out << cell.str() << ",,,,,,,,,,\n";
    for (const auto& name : ordered_metric_names(names)) {
      const auto detail = row.details.find(name);
      const MetricInfo* info = find_metric_info(name);
      out << cell.str() << csv_field(name) << ","
          << csv_field(info ? info->unit : detail != row.details.end() ? detail->second.unit : "") << ","
          << row.metrics.at(name);
      if (detail != row.details.end())
        out << "," << detail->second.n << "," << detail->second.min << "," << detail->second.max << ","
            << detail->second.stddev;
      else
        out << ",,,,";
      const SeedSummary over_seeds = group_of.at(&row)->summary(name);
      out << "," << over_seeds.n << "," << over_seeds.mean << "," << over_seeds.low << "," << over_seeds.high << "\n";
    }
  }
  return out.str();
}

std::string render_json(const Leaderboard& board) {
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& row : board.rows) {
    nlohmann::json details = nlohmann::json::object();
    for (const auto& [name, m] : row.details) {
      const MetricInfo* info = find_metric_info(name);
      details[name] = {{"value", m.value}, {"unit", info ? info->unit : m.unit}, {"n", m.n},
                       {"min", m.min},     {"max", m.max},                    {"stddev", m.stddev}};
    }
    cells.push_back({{"cell_id", row.cell_id}, {"seed", row_seed(row)}, {"backend", row.backend},
                     {"backend_label", backend_label(row.backend, row.params)}, {"task", row.task},
                     {"params", row.params}, {"seq_len", row.seq_len}, {"d_model", row.d_model},
                     {"layers", row.layers}, {"state_bytes", row.state_bytes}, {"status", row.status},
                     {"error", row.error}, {"metrics", row.metrics}, {"metric_details", details}});
    if (!row.per_turn.empty()) {  // session cells: name -> {"1": value, ...} (turns from 1)
      nlohmann::json turns = nlohmann::json::object();
      for (const auto& [name, by_turn] : row.per_turn)
        for (const auto& [turn, value] : by_turn) turns[name][std::to_string(turn)] = value;
      cells.back()["per_turn"] = turns;
    }
  }
  // Every cell over its seeds: each metric's n, mean and 95% interval, and the cells behind it.
  nlohmann::json across_seeds = nlohmann::json::array();
  for (const SeedGroup& group : group_by_seed(board)) {
    const LeaderboardRow& first = *group.rows.front();
    nlohmann::json ids = nlohmann::json::array(), metrics = nlohmann::json::object();
    for (const auto* r : group.rows) ids.push_back(r->cell_id);
    std::set<std::string> names;
    for (const auto* r : group.rows)
      for (const auto& m : r->metrics) names.insert(m.first);
    for (const auto& name : names) {
      const SeedSummary s = group.summary(name);
      metrics[name] = {{"n", s.n}, {"mean", s.mean}, {"ci95_low", s.low}, {"ci95_high", s.high}};
    }
    across_seeds.push_back({{"backend_label", backend_label(first.backend, first.params)}, {"task", first.task},
                            {"task_params", first.task_params}, {"d_model", first.d_model}, {"layers", first.layers},
                            {"seeds", group.seeds()}, {"cell_ids", ids}, {"metrics", metrics}});
  }
  const RunRow& run = board.run;
  nlohmann::json doc{{"run", {{"id", run.id}, {"suite", run.info.suite}, {"status", run_status_name(run.status)},
                              {"started_at", run.info.started_at}, {"finished_at", run.finished_at},
                              {"git_sha", run.info.git_sha}, {"device", run.info.device},
                              {"host", run.info.host}, {"seed", run.info.seed},
                              {"cells_planned", run.info.cells_planned},
                              {"cells_stored", board.rows.size()},
                              {"command_line", run.info.command_line}}},
                     {"cells", cells},
                     {"across_seeds", across_seeds}};
  return doc.dump(2) + "\n";
}

std::string render_leaderboard(const Leaderboard& board, const std::string& format) {
  if (format == "md" || format == "markdown") return render_markdown(board);
  if (format == "csv") return render_csv(board);
  if (format == "json") return render_json(board);
  if (format == "html") return render_html_report(board);
  throw std::invalid_argument("unknown report format '" + format + "' (expected md, csv, json or html)");
}

}  // namespace seqbench
