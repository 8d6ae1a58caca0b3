#include "reports/leaderboard.h"

#include "reports/table_text.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>
#include <stdexcept>

#include "reports/heatmap.h"
#include "reports/html_report.h"

namespace seqbench {
namespace {

const std::set<std::string> kUnswept{"num_train", "num_test"};

std::string backend_label(const std::string& backend, const nlohmann::json& params) {
  const auto mixer = params.value("mixer_params", nlohmann::json::object());
  return mixer.empty() ? backend : backend + " " + mixer.dump();
}

std::string task_params_label(const nlohmann::json& params) {
  std::string out;
  const auto task = params.value("task_params", nlohmann::json::object());
  for (auto it = task.begin(); it != task.end(); ++it) {
    if (kUnswept.count(it.key())) continue;
    out += (out.empty() ? "" : " ") + it.key() + "=" + it.value().dump();
  }
  return out;
}

std::string fixed(double v, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", digits, v);
  return buffer;
}

std::string metric_or_dash(const LeaderboardRow& row, const std::string& name, int digits) {
  auto it = row.metrics.find(name);
  return it == row.metrics.end() ? "-" : fixed(it->second, digits);
}

std::vector<std::string> metric_names(const Leaderboard& board) {
  std::set<std::string> names;
  for (const auto& row : board.rows)
    for (const auto& m : row.metrics) names.insert(m.first);
  return {names.begin(), names.end()};
}

// Accuracy pivot: one row per (backend, d_model), one column per value of the single task
// parameter that varies within the task (e.g. num_kv_pairs), as Zoology's figures read.
void render_pivot(std::ostringstream& out, const std::vector<const LeaderboardRow*>& rows) {
  std::map<std::string, std::set<std::string>> values;
  for (const auto* row : rows) {
    const auto task = row->params.value("task_params", nlohmann::json::object());
    for (auto it = task.begin(); it != task.end(); ++it)
      if (!kUnswept.count(it.key())) values[it.key()].insert(it.value().dump());
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
  std::map<std::string, std::map<std::string, std::string>> table;
  for (const auto* row : rows) {
    const std::string key = backend_label(row->backend, row->params) + " | " + std::to_string(row->d_model);
    const auto task = row->params.value("task_params", nlohmann::json::object());
    table[key][task.value(axis, nlohmann::json()).dump()] = metric_or_dash(*row, "accuracy", 3);
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
    for (const auto& m : store.metrics(cell.id)) row.metrics[m.metric.name] = m.metric.value;
    board.rows.push_back(std::move(row));
  }
  return board;
}

std::string render_markdown(const Leaderboard& board) {
  std::ostringstream out;
  const RunRow& run = board.run;
  out << "# seqbench leaderboard: run " << run.id << " (" << run.info.suite << ")\n\n"
      << "status " << run_status_name(run.status) << ", started " << run.info.started_at << ", device "
      << run.info.device << ", git " << run.info.git_sha.substr(0, 12) << ", seed " << run.info.seed << "\n";
  std::map<std::string, std::vector<const LeaderboardRow*>> by_task;
  for (const auto& row : board.rows) by_task[row.task].push_back(&row);
  for (auto& [task, rows] : by_task) {
    std::stable_sort(rows.begin(), rows.end(), [](const LeaderboardRow* a, const LeaderboardRow* b) {
      auto acc = [](const LeaderboardRow* r) {
        auto it = r->metrics.find("accuracy");
        return it == r->metrics.end() ? -1.0 : it->second;
      };
      return acc(a) > acc(b);
    });
    out << "\n## " << task << "\n\n"
        << "| backend | d_model | layers | task params | state | accuracy | train s | status |\n"
        << "|---|---|---|---|---|---|---|---|\n";
    for (const auto* row : rows)
      out << "| " << backend_label(row->backend, row->params) << " | " << row->d_model << " | " << row->layers
          << " | " << row->task_params << " | " << format_bytes(static_cast<double>(row->state_bytes)) << " | "
          << metric_or_dash(*row, "accuracy", 3) << " | " << metric_or_dash(*row, "train_seconds", 1) << " | "
          << row->status << (row->error.empty() ? "" : ": " + row->error) << " |\n";
    render_pivot(out, rows);
    out << render_depth_length_heatmap(rows);
  }
  return out.str();
}

std::string render_csv(const Leaderboard& board) {
  std::ostringstream out;
  const auto names = metric_names(board);
  out << "run_id,cell_id,backend,task,task_params,seq_len,d_model,layers,state_bytes,status";
  for (const auto& n : names) out << "," << csv_field(n);
  out << "\n";
  for (const auto& row : board.rows) {
    out << board.run.id << "," << row.cell_id << "," << csv_field(backend_label(row.backend, row.params)) << ","
        << csv_field(row.task) << "," << csv_field(row.task_params) << "," << row.seq_len << "," << row.d_model
        << "," << row.layers << "," << row.state_bytes << "," << row.status;
    for (const auto& n : names) {
      auto it = row.metrics.find(n);
      out << ",";
      if (it != row.metrics.end()) out << it->second;
    }
    out << "\n";
  }
  return out.str();
}

std::string render_json(const Leaderboard& board) {
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& row : board.rows)
    cells.push_back({{"cell_id", row.cell_id}, {"backend", row.backend}, {"task", row.task},
                     {"params", row.params}, {"seq_len", row.seq_len}, {"d_model", row.d_model},
                     {"layers", row.layers}, {"state_bytes", row.state_bytes}, {"status", row.status},
                     {"error", row.error}, {"metrics", row.metrics}});
  const RunRow& run = board.run;
  nlohmann::json doc{{"run", {{"id", run.id}, {"suite", run.info.suite}, {"status", run_status_name(run.status)},
                              {"started_at", run.info.started_at}, {"finished_at", run.finished_at},
                              {"git_sha", run.info.git_sha}, {"device", run.info.device},
                              {"host", run.info.host}, {"seed", run.info.seed},
                              {"command_line", run.info.command_line}}},
                     {"cells", cells}};
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
