#include "reports/html_report.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "reports/backend_label.h"
#include "reports/metric_catalog.h"
#include "reports/metric_columns.h"
#include "reports/scenario_report.h"
#include "reports/seed_groups.h"
#include "reports/svg_plot.h"

namespace seqbench {
namespace {

// Metric families with one value per sequence length: plotted, not tabulated.
const std::vector<std::string> kPerLengthPrefixes{"prefill_ms@len", "prefill_tokens_per_s@len", "peak_mem_bytes@prefill",
                                                  "state_bytes@len", "kv_bytes@len"};
constexpr size_t kMaxFrontierPlots = 8;

const char* kStyle = R"(body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.params{white-space:nowrap}
.scroll{overflow-x:auto}.plots{display:flex;flex-wrap:wrap;gap:16px}.plot{border:1px solid #ddd}
.note{color:#777;font-size:13px}.failed{color:#b00020}
)";

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool is_per_length(const std::string& name) {
  return std::any_of(kPerLengthPrefixes.begin(), kPerLengthPrefixes.end(),
                     [&](const std::string& p) { return starts_with(name, p); });
}

std::string backend_text(const LeaderboardRow& row) { return backend_label(row.backend, row.params); }

// (L, value) for every metric named prefix + L.
std::vector<std::pair<double, double>> per_length(const LeaderboardRow& row, const std::string& prefix) {
  std::vector<std::pair<double, double>> points;
  for (const auto& [name, value] : row.metrics) {
    if (!starts_with(name, prefix)) continue;
    const std::string length = name.substr(prefix.size());
    if (length.empty() || length.find_first_not_of("0123456789") != std::string::npos) continue;
    points.emplace_back(std::stod(length), value);
  }
  return points;
}

// One series per cell, named by its backend plus only as much as tells the cells apart: the
// width, then the depth, then the task settings.
std::vector<PlotSeries> per_length_series(const Leaderboard& board, const std::string& prefix) {
  std::vector<const LeaderboardRow*> rows;
  for (const auto& row : board.rows)
    if (!per_length(row, prefix).empty()) rows.push_back(&row);
  const std::vector<std::function<std::string(const LeaderboardRow&)>> details{
      [](const LeaderboardRow&) { return std::string(); },
      [](const LeaderboardRow& r) { return " d=" + std::to_string(r.d_model); },
      [](const LeaderboardRow& r) { return " d=" + std::to_string(r.d_model) + " L=" + std::to_string(r.layers); },
      [](const LeaderboardRow& r) {
        return " d=" + std::to_string(r.d_model) + " L=" + std::to_string(r.layers) + " " + r.task_params;
      }};
  for (size_t level = 0; level < details.size(); ++level) {
    std::set<std::string> labels;
    for (const auto* row : rows) labels.insert(backend_text(*row) + details[level](*row));
    if (labels.size() == rows.size() || level + 1 == details.size()) {
      std::vector<PlotSeries> series;
      for (const auto* row : rows) series.push_back({backend_text(*row) + details[level](*row), per_length(*row, prefix)});
      return series;
    }
  }
  return {};
}

void add_plot(std::ostringstream& out, const PlotSpec& spec, const std::string& missing_note) {
  const std::string svg = render_svg_plot(spec);
  if (svg.empty())
    out << "<p class=\"note\">" << xml_escape(missing_note) << "</p>\n";
  else
    out << svg;
}

// The cells of a run over their seeds, grouped by task setting (task + swept parameters): each
// group's seed-mean accuracy at its backend, width and state size.
struct AccuracyPoint {
  std::string backend;
  double d_model = 0, state_bytes = 0, accuracy = 0;
};
std::map<std::string, std::vector<AccuracyPoint>> accuracy_by_setting(const Leaderboard& board) {
  std::map<std::string, std::vector<AccuracyPoint>> out;
  for (const SeedGroup& group : group_by_seed(board)) {
    const LeaderboardRow& row = *group.rows.front();
    const SeedSummary accuracy = group.summary("accuracy");
    if (accuracy.n == 0 || is_scenario_row(row)) continue;  // sessions have their own report section
    const std::string setting = row.task + (row.task_params.empty() ? "" : " " + row.task_params);
    out[setting].push_back({backend_text(row), static_cast<double>(row.d_model), static_cast<double>(row.state_bytes),
                            accuracy.mean});
  }
  return out;
}

// One plot per task setting, a series per backend: x from the point, y its accuracy (0..1).
void add_accuracy_plots(std::ostringstream& out, const Leaderboard& board, const std::string& title,
                        const std::string& x_label, TickFormat x_format,
                        const std::function<double(const AccuracyPoint&)>& x_of) {
  const auto settings = accuracy_by_setting(board);
  if (settings.empty()) {
    out << "<p class=\"note\">No accuracy in this run (profile-only cells): no " << xml_escape(title) << " plot.</p>\n";
    return;
  }
  size_t drawn = 0;
  for (const auto& [setting, points] : settings) {
    if (drawn++ == kMaxFrontierPlots) {
      out << "<p class=\"note\">" << settings.size() - kMaxFrontierPlots << " more task settings not plotted.</p>\n";
      break;
    }
    std::map<std::string, PlotSeries> by_backend;
    for (const AccuracyPoint& p : points) {
      if (x_of(p) <= 0) continue;
      PlotSeries& series = by_backend[p.backend];
      series.label = p.backend;
      series.points.emplace_back(x_of(p), p.accuracy);
    }
    PlotSpec spec;
    spec.title = title + ": " + setting;
    spec.x_label = x_label;
    spec.y_label = "accuracy (mean over seeds)";
    spec.y_range = {0.0, 1.0};  // accuracies compare across plots only on the same scale
    spec.log_x = true;
    spec.x_format = x_format;
    for (auto& [name, series] : by_backend) spec.series.push_back(std::move(series));
    add_plot(out, spec, "nothing to plot for " + setting);
  }
}

void add_length_plot(std::ostringstream& out, const Leaderboard& board, const std::string& prefix,
                     const std::string& title, const std::string& y_label, TickFormat y_format) {
  PlotSpec spec;
  spec.title = title;
  spec.x_label = "sequence length (tokens)";
  spec.y_label = y_label;
  spec.log_x = spec.log_y = true;
  spec.y_format = y_format;
  spec.series = per_length_series(board, prefix);
  add_plot(out, spec, title + ": no " + prefix + "<L> metrics in this run (add a \"profile\" to the sweep).");
}

std::vector<std::string> table_metrics(const Leaderboard& board) {
  std::set<std::string> names;
  for (const auto& row : board.rows)
    for (const auto& m : row.metrics)
      if (!is_per_length(m.first) && m.first != "state_bytes") names.insert(m.first);
  return ordered_metric_names(names);
}

// Rows by task, then best accuracy first; columns in catalog order with units in the headers.
void add_leaderboard_table(std::ostringstream& out, const Leaderboard& board) {
  const auto metrics = table_metrics(board);
  std::vector<const LeaderboardRow*> rows;
  for (const auto& row : board.rows)
    if (!is_scenario_row(row)) rows.push_back(&row);  // session cells: their own section
  std::stable_sort(rows.begin(), rows.end(), [](const LeaderboardRow* a, const LeaderboardRow* b) {
    return a->task != b->task ? a->task < b->task : leaderboard_order(a, b);
  });
  const bool seeded = has_repeated_seeds(group_by_seed(board));
  out << "<div class=\"scroll\"><table id=\"leaderboard\">\n<tr><th>task</th><th>backend</th><th>task params</th>"
      << (seeded ? "<th>seed</th>" : "") << "<th>d_model</th><th>layers</th><th>state (bytes)</th>";
  for (const auto& m : metrics) out << "<th>" << xml_escape(metric_header(m)) << "</th>";
  out << "<th>status</th></tr>\n";
  for (const LeaderboardRow* row : rows) {
    out << "<tr><td>" << xml_escape(row->task) << "</td><td>" << xml_escape(backend_text(*row))
        << "</td><td class=\"params\">" << xml_escape(row->task_params) << "</td>"
        << (seeded ? "<td class=\"num\">" + std::to_string(row_seed(*row)) + "</td>" : "") << "<td class=\"num\">"
        << row->d_model << "</td><td class=\"num\">"
        << row->layers << "</td><td class=\"num\">" << format_bytes(static_cast<double>(row->state_bytes)) << "</td>";
    for (const auto& m : metrics) {
      auto it = row->metrics.find(m);
      out << "<td class=\"num\">" << (it == row->metrics.end() ? "-" : xml_escape(metric_value_text(m, it->second)))
          << "</td>";
    }
    const bool ok = row->status == "ok";
    out << "<td" << (ok ? "" : " class=\"failed\"") << ">"
        << xml_escape(row->status + (row->error.empty() ? "" : ": " + row->error)) << "</td></tr>\n";
  }
  out << "</table></div>\n";
}

// Every cell over its seeds: its score metrics as mean [95% interval] with n. Only for runs where
// some cell ran with several seeds.
void add_across_seeds_table(std::ostringstream& out, const Leaderboard& board) {
  const std::vector<SeedGroup> groups = group_by_seed(board);
  if (!has_repeated_seeds(groups)) return;
  std::vector<std::string> scores;
  for (const auto& m : table_metrics(board))
    if (is_score_metric(m)) scores.push_back(m);
  out << "<h2>Across seeds</h2>\n<p class=\"note\">Mean over seeds with its 95% interval (Student t) and the "
         "number of seeds.</p>\n<div class=\"scroll\"><table id=\"across-seeds\">\n<tr><th>task</th><th>backend</th>"
         "<th>task params</th><th>d_model</th><th>layers</th><th>seeds</th>";
  for (const auto& m : scores) out << "<th>" << xml_escape(metric_header(m)) << "</th>";
  out << "</tr>\n";
  for (const SeedGroup& group : groups) {
    const LeaderboardRow& row = *group.rows.front();
    std::string seeds;
    for (uint64_t seed : group.seeds()) seeds += (seeds.empty() ? "" : ", ") + std::to_string(seed);
    out << "<tr><td>" << xml_escape(row.task) << "</td><td>" << xml_escape(backend_text(row))
        << "</td><td class=\"params\">" << xml_escape(row.task_params) << "</td><td class=\"num\">" << row.d_model
        << "</td><td class=\"num\">" << row.layers << "</td><td>" << seeds << "</td>";
    for (const auto& m : scores) out << "<td class=\"num\">" << xml_escape(seed_summary_text(m, group.summary(m))) << "</td>";
    out << "</tr>\n";
  }
  out << "</table></div>\n";
}

void add_run_description(std::ostringstream& out, const RunRow& run, const std::string& missing) {
  const RunInfo& info = run.info;
  const std::string status = run_status_name(run.status) + (missing.empty() ? "" : ": " + missing);
  std::vector<std::pair<std::string, std::string>> fields{
      {"status", status}, {"started", info.started_at}, {"finished", run.finished_at},
      {"device", info.device},                 {"host", info.host},          {"git", info.git_sha},
      {"seed", std::to_string(info.seed)},      {"command", info.command_line}};
  const auto env = nlohmann::json::parse(info.environment_json, nullptr, false);
  if (env.is_object())
    for (auto it = env.begin(); it != env.end(); ++it)
      fields.emplace_back(it.key(), it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  out << "<table id=\"run\">\n";
  for (const auto& [key, value] : fields)
    if (!value.empty()) out << "<tr><th>" << xml_escape(key) << "</th><td>" << xml_escape(value) << "</td></tr>\n";
  out << "</table>\n";
}

}  // namespace

std::string render_html_report(const Leaderboard& board) {
  const RunRow& run = board.run;
  const std::string title = "seqbench run " + std::to_string(run.id) + " (" + run.info.suite + ")";
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" << xml_escape(title)
      << "</title>\n<style>\n" << kStyle << "</style>\n</head>\n<body>\n<h1>" << xml_escape(title) << "</h1>\n";
  add_run_description(out, run, missing_cells_note(board));
  out << "<h2>Leaderboard</h2>\n";
  add_leaderboard_table(out, board);
  add_across_seeds_table(out, board);
  out << "<h2>Recall vs memory</h2>\n<div class=\"plots\">\n";
  // Zoology's two pictures: the recall/memory frontier (accuracy against decode-state bytes) and
  // accuracy against model width, one series per backend.
  add_accuracy_plots(out, board, "Accuracy vs state size", "decode state per sequence", TickFormat::bytes,
                     [](const AccuracyPoint& p) { return p.state_bytes; });
  add_accuracy_plots(out, board, "Accuracy vs model width", "d_model", TickFormat::number,
                     [](const AccuracyPoint& p) { return p.d_model; });
  out << "</div>\n<h2>Cost vs sequence length</h2>\n<div class=\"plots\">\n";
  add_length_plot(out, board, "prefill_ms@len", "Prefill latency", "prefill time (ms)", TickFormat::number);
  add_length_plot(out, board, "peak_mem_bytes@prefill", "Peak memory during prefill", "peak memory", TickFormat::bytes);
  add_length_plot(out, board, "state_bytes@len", "Decode state", "state per sequence", TickFormat::bytes);
  out << "</div>\n" << render_scenario_html(board) << "</body>\n</html>\n";
  return out.str();
}

}  // namespace seqbench
