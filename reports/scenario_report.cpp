// Session-cell tables, heat maps and plots (scenario_report.h).
#include "reports/scenario_report.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <sstream>

#include "reports/backend_label.h"
#include "reports/metric_columns.h"
#include "reports/svg_plot.h"
#include "reports/table_text.h"

namespace seqbench {
namespace {

constexpr size_t kMaxHeatMaps = 12;

// What a session cell is, read from its stored description.
struct SessionCell {
  const LeaderboardRow* row = nullptr;
  std::string setting;  // task and its swept parameters
  std::string mode;     // "multi-turn", ... (with "own answers" when multi-turn is not golden)
  std::string backend, policy;
  std::string policy_label;  // name, budget, "every turn"
  double budget = -1;        // tokens, when the policy has a budget
  bool evicts = false;
  int64_t turns = 0;

  double at(const std::string& metric, int64_t turn) const {
    auto m = row->per_turn.find(metric);
    if (m == row->per_turn.end()) return -1;
    auto t = m->second.find(turn);
    return t == m->second.end() ? -1 : t->second;
  }
  double mean(const std::string& metric) const {
    auto it = row->metrics.find(metric);
    return it == row->metrics.end() ? -1 : it->second;
  }
};

std::string fixed(double v, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

std::vector<SessionCell> session_cells(const Leaderboard& board) {
  std::vector<SessionCell> cells;
  for (const LeaderboardRow& row : board.rows) {
    if (!is_scenario_row(row) || row.status != "ok") continue;
    const nlohmann::json& s = row.params["scenario"];
    SessionCell c;
    c.row = &row;
    c.setting = row.task + (row.task_params.empty() ? "" : " " + row.task_params);
    c.mode = s.value("mode", "?");
    if (c.mode == "multi-turn" && !s.value("golden_answers", true)) c.mode += " (own answers)";
    c.backend = backend_label(row.backend, row.params);
    const nlohmann::json resolved = s.value("policy_resolved", nlohmann::json::object());
    c.policy = resolved.value("name", "dense");
    const nlohmann::json params = resolved.value("params", nlohmann::json::object());
    c.policy_label = c.policy;
    if (params.contains("budget")) {
      c.budget = params["budget"].get<double>();
      c.policy_label += " " + std::to_string(params["budget"].get<int64_t>());
    }
    if (params.contains("bits")) c.policy_label += " " + std::to_string(params["bits"].get<int>()) + "-bit";
    c.evicts = c.policy == "streaming_llm" || c.policy == "h2o" || c.policy == "snapkv" || c.policy == "pyramidkv";
    if (s.value("compress", "first_prefill") == "every_turn") c.policy_label += " every turn";
    auto exact = row.per_turn.find("answer_exact_match");
    if (exact != row.per_turn.end()) c.turns = static_cast<int64_t>(exact->second.size());
    cells.push_back(std::move(c));
  }
  return cells;
}

// Cells grouped by task setting, then mode, in first-seen order.
using Groups = std::vector<std::pair<std::string, std::vector<const SessionCell*>>>;
Groups group_by(const std::vector<SessionCell>& cells, const std::function<std::string(const SessionCell&)>& key) {
  Groups groups;
  for (const SessionCell& c : cells) {
    const std::string k = key(c);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == k; });
    if (it == groups.end()) {
      groups.push_back({k, {}});
      it = groups.end() - 1;
    }
    it->second.push_back(&c);
  }
  return groups;
}

std::string or_dash(double v, const std::function<std::string(double)>& text) { return v < 0 ? "-" : text(v); }

// The per-turn table of one task setting and mode: a header row, then one row per cell.
std::vector<std::vector<std::string>> turn_table(const std::vector<const SessionCell*>& cells) {
  int64_t turns = 0;
  for (const auto* c : cells) turns = std::max(turns, c->turns);
  std::vector<std::string> header{"backend", "policy"};
  for (int64_t t = 1; t <= turns; ++t) header.push_back("turn " + std::to_string(t));
  for (const char* h : {"mean", "token acc", "needle retained", "kept tokens", "KV bytes"}) header.push_back(h);
  std::vector<std::vector<std::string>> table{header};
  auto three = [](double v) { return fixed(v, 3); };
  for (const auto* c : cells) {
    std::vector<std::string> row{c->backend, c->policy_label};
    for (int64_t t = 1; t <= turns; ++t) row.push_back(or_dash(c->at("answer_exact_match", t), three));
    row.push_back(or_dash(c->mean("answer_exact_match"), three));
    row.push_back(or_dash(c->mean("answer_token_accuracy"), three));
    row.push_back(or_dash(c->mean("needle_retained"), three));
    row.push_back(or_dash(c->at("kept_tokens", c->turns), [](double v) { return fixed(v, 1); }));
    row.push_back(or_dash(c->at("session_kv_bytes", c->turns), format_bytes));
    table.push_back(std::move(row));
  }
  return table;
}

void markdown_table(std::ostringstream& out, const std::vector<std::vector<std::string>>& table) {
  for (size_t r = 0; r < table.size(); ++r) {
    out << "|";
    for (const std::string& cell : table[r]) out << " " << md_cell(cell) << " |";
    out << "\n";
    if (r == 0) {
      out << "|---|---|";
      for (size_t i = 2; i < table[0].size(); ++i) out << "---:|";
      out << "\n";
    }
  }
}

void html_table(std::ostringstream& out, const std::vector<std::vector<std::string>>& table) {
  out << "<div class=\"scroll\"><table>\n";
  for (size_t r = 0; r < table.size(); ++r) {
    out << "<tr>";
    for (size_t i = 0; i < table[r].size(); ++i)
      out << (r == 0  ? "<th>"
              : i < 2 ? "<td>"
                      : "<td class=\"num\">")
          << xml_escape(table[r][i]) << (r == 0 ? "</th>" : "</td>");
    out << "</tr>\n";
  }
  out << "</table></div>\n";
}

// Needle retention by record depth (rows) and turn (columns) of one cell.
void markdown_heat_map(std::ostringstream& out, const SessionCell& c) {
  out << "\n"
      << md_cell(c.backend) << ", " << c.policy_label << ", " << c.mode
      << ": needle retained by record depth (rows) and turn\n\n| depth |";
  for (int64_t t = 1; t <= c.turns; ++t) out << " turn " << t << " |";
  out << "\n|---|";
  for (int64_t t = 0; t < c.turns; ++t) out << "---:|";
  out << "\n";
  for (int depth = 10; depth <= 100; depth += 10) {
    const std::string name = "needle_retained@depth" + std::to_string(depth);
    if (!c.row->per_turn.count(name)) continue;
    out << "| " << depth - 10 << "-" << depth << "% |";
    for (int64_t t = 1; t <= c.turns; ++t)
      out << " " << or_dash(c.at(name, t), [](double v) { return fixed(v, 2); }) << " |";
    out << "\n";
  }
}

// The cells whose retention tells something: evicting policies, their smallest budget, the first mode.
std::vector<const SessionCell*> heat_map_cells(const std::vector<SessionCell>& cells) {
  std::vector<const SessionCell*> out;
  for (const SessionCell& c : cells) {
    if (!c.evicts || c.mode != cells.front().mode) continue;
    bool smallest = true;
    for (const SessionCell& o : cells)
      smallest = smallest && !(o.setting == c.setting && o.mode == c.mode && o.backend == c.backend &&
                               o.policy == c.policy && o.budget >= 0 && o.budget < c.budget);
    if (smallest && out.size() < kMaxHeatMaps) out.push_back(&c);
  }
  return out;
}

std::string html_cell_colour(double v) {  // white (0) to green (1)
  const int shade = static_cast<int>(255 - 140 * std::max(0.0, std::min(1.0, v)));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "rgb(%d,%d,%d)", shade, 235, shade);
  return buffer;
}

void html_heat_map(std::ostringstream& out, const SessionCell& c) {
  out << "<table class=\"heat\"><caption>" << xml_escape(c.backend + ", " + c.policy_label + ", " + c.mode)
      << "</caption>\n<tr><th>record depth</th>";
  for (int64_t t = 1; t <= c.turns; ++t) out << "<th>turn " << t << "</th>";
  out << "</tr>\n";
  for (int depth = 10; depth <= 100; depth += 10) {
    const std::string name = "needle_retained@depth" + std::to_string(depth);
    if (!c.row->per_turn.count(name)) continue;
    out << "<tr><th>" << depth - 10 << "-" << depth << "%</th>";
    for (int64_t t = 1; t <= c.turns; ++t) {
      const double v = c.at(name, t);
      out << "<td class=\"num\" style=\"background:" << html_cell_colour(v) << "\">" << (v < 0 ? "-" : fixed(v, 2))
          << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</table>\n";
}

void plot(std::ostringstream& out, PlotSpec spec) {
  const std::string svg = render_svg_plot(spec);
  if (!svg.empty()) out << svg;
}

PlotSpec accuracy_plot(const std::string& title, const std::string& x_label) {
  PlotSpec spec;
  spec.title = title;
  spec.x_label = x_label;
  spec.y_label = "exact match";
  spec.y_range = {0.0, 1.0};
  return spec;
}

void html_plots(std::ostringstream& out, const std::vector<SessionCell>& cells) {
  for (const auto& [setting, in_setting] : group_by(cells, [](const SessionCell& c) { return c.setting; })) {
    out << "<h3>" << xml_escape(setting) << "</h3>\n<div class=\"plots\">\n";
    std::vector<SessionCell> setting_cells;
    for (const auto* c : in_setting) setting_cells.push_back(*c);
    for (const auto& [mode, in_mode] : group_by(setting_cells, [](const SessionCell& c) { return c.mode; })) {
      PlotSpec by_turn = accuracy_plot("Exact match vs turn: " + mode, "turn");
      for (const auto* c : in_mode) {
        PlotSeries s{c->backend + " " + c->policy_label, {}};
        for (int64_t t = 1; t <= c->turns; ++t)
          s.points.emplace_back(static_cast<double>(t), c->at("answer_exact_match", t));
        by_turn.series.push_back(s);
      }
      plot(out, by_turn);
      // Against the budget, at the first and the last turn, one series per backend and policy.
      for (bool last : {false, true}) {
        PlotSpec by_budget = accuracy_plot(
            std::string("Exact match vs budget, turn ") + (last ? "T" : "1") + ": " + mode, "budget (tokens)");
        by_budget.log_x = true;
        std::map<std::string, PlotSeries> series;
        for (const auto* c : in_mode)
          if (c->budget > 0) {
            PlotSeries& s = series[c->backend + " " + c->policy];
            s.label = c->backend + " " + c->policy;
            s.points.emplace_back(c->budget, c->at("answer_exact_match", last ? c->turns : 1));
          }
        for (auto& [label, s] : series) {
          std::sort(s.points.begin(), s.points.end());
          by_budget.series.push_back(s);
        }
        plot(out, by_budget);
      }
    }
    // Exact match against bytes kept, multi-turn beside multi-request.
    for (const std::string mode : {"multi-turn", "multi-request"}) {
      PlotSpec by_bytes = accuracy_plot("Exact match vs KV/state bytes: " + mode, "KV / state bytes per sequence");
      by_bytes.log_x = true;
      by_bytes.connect = false;
      by_bytes.x_format = TickFormat::bytes;
      std::map<std::string, PlotSeries> series;
      for (const auto* c : in_setting)
        if (c->mode == mode && c->mean("session_kv_bytes") > 0) {
          PlotSeries& s = series[c->backend + " " + c->policy];
          s.label = c->backend + " " + c->policy;
          s.points.emplace_back(c->mean("session_kv_bytes"), c->mean("answer_exact_match"));
        }
      for (auto& [label, s] : series) by_bytes.series.push_back(s);
      plot(out, by_bytes);
    }
    out << "</div>\n";
    const std::vector<const SessionCell*> heat = heat_map_cells(setting_cells);
    if (!heat.empty()) {
      out << "<p class=\"note\">Needle retained: the share of the asked record's context tokens still in the KV cache "
             "after the turn, by the record's depth in the context.</p>\n<div class=\"plots\">\n";
      for (const auto* c : heat) html_heat_map(out, *c);
      out << "</div>\n";
    }
  }
  // Cost against context length, per mode, one series per backend and policy.
  out << "<h3>Latency vs context length</h3>\n<div class=\"plots\">\n";
  for (const auto& [mode, in_mode] : group_by(cells, [](const SessionCell& c) { return c.mode; })) {
    if (mode == "one-pass") continue;
    for (const auto& [metric, title] : std::vector<std::pair<std::string, std::string>>{
             {"turn_prefill_ms", "Prefill of turn 1"}, {"turn_decode_ms_per_token", "Decode per token"}}) {
      PlotSpec spec;
      spec.title = title + ": " + mode;
      spec.x_label = "context (tokens)";
      spec.y_label = "ms (batch of sessions)";
      spec.log_x = spec.log_y = true;
      std::map<std::string, PlotSeries> series;
      for (const auto* c : in_mode) {
        const double y = metric == "turn_prefill_ms" ? c->at(metric, 1) : c->mean(metric);
        if (y <= 0) continue;
        PlotSeries& s = series[c->backend + " " + c->policy_label];
        s.label = c->backend + " " + c->policy_label;
        s.points.emplace_back(c->mean("context_tokens"), y);
      }
      for (auto& [label, s] : series) {
        std::sort(s.points.begin(), s.points.end());
        spec.series.push_back(s);
      }
      plot(out, spec);
    }
  }
  out << "</div>\n";
}

}  // namespace

bool is_scenario_row(const LeaderboardRow& row) {
  return row.params.is_object() && row.params.contains("scenario") && row.params["scenario"].is_object();
}

std::string render_scenario_markdown(const Leaderboard& board) {
  const std::vector<SessionCell> cells = session_cells(board);
  if (cells.empty()) return "";
  std::ostringstream out;
  out << "\n## Shared-context sessions\n\nExact match of each turn's greedy answer; token accuracy, needle retained "
         "(the asked record's context tokens still cached) and KV bytes are means over turns, kept tokens and KV bytes "
         "per sequence after the last turn.\n";
  for (const auto& [setting, in_setting] : group_by(cells, [](const SessionCell& c) { return c.setting; })) {
    std::vector<SessionCell> setting_cells;
    for (const auto* c : in_setting) setting_cells.push_back(*c);
    for (const auto& [mode, in_mode] : group_by(setting_cells, [](const SessionCell& c) { return c.mode; })) {
      out << "\n### " << setting << ": " << mode << "\n\n";
      markdown_table(out, turn_table(in_mode));
    }
    for (const auto* c : heat_map_cells(setting_cells)) markdown_heat_map(out, *c);
  }
  return out.str();
}

std::string render_scenario_html(const Leaderboard& board) {
  const std::vector<SessionCell> cells = session_cells(board);
  if (cells.empty()) return "";
  std::ostringstream out;
  out << "<h2>Shared-context sessions</h2>\n<style>table.heat{margin:4px}table.heat caption{font-size:13px}</style>\n";
  for (const auto& [setting, in_setting] : group_by(cells, [](const SessionCell& c) { return c.setting; })) {
    std::vector<SessionCell> setting_cells;
    for (const auto* c : in_setting) setting_cells.push_back(*c);
    for (const auto& [mode, in_mode] : group_by(setting_cells, [](const SessionCell& c) { return c.mode; })) {
      out << "<h3>" << xml_escape(setting + ": " + mode) << "</h3>\n";
      html_table(out, turn_table(in_mode));
    }
  }
  html_plots(out, cells);
  return out.str();
}

}  // namespace seqbench
