#include "reports/heatmap.h"

#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "reports/backend_label.h"

namespace seqbench {
namespace {

// Parameters that are the table's own axes, or that do not change what is measured.
const std::set<std::string> kAxisOrUnswept{"depth", "seq_len", "test_lengths", "train_depth", "num_train",
                                           "num_test"};

nlohmann::json task_params_of(const LeaderboardRow& row) {
  const nlohmann::json resolved = row.params.value("task_params_resolved", nlohmann::json::object());
  nlohmann::json params = row.params.value("task_params", nlohmann::json::object());
  if (resolved.is_object())
    for (auto it = resolved.begin(); it != resolved.end(); ++it)
      if (!params.contains(it.key())) params[it.key()] = it.value();
  return params;
}

std::string backend_with_params(const LeaderboardRow& row) { return backend_label(row.backend, row.params); }

// The length of a metric name: seq_len for `metric` itself, N for `metric@len<N>`, else -1.
int64_t metric_length(const std::string& name, const std::string& metric, int64_t seq_len) {
  if (name == metric) return seq_len;
  const std::string prefix = metric + "@len";
  if (name.compare(0, prefix.size(), prefix) != 0) return -1;
  try {
    size_t used = 0;
    const int64_t length = std::stoll(name.substr(prefix.size()), &used);
    return used == name.size() - prefix.size() ? length : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

struct Mean {
  double sum = 0;
  int n = 0;
};

std::string format_cell(const Mean& m) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.2f", m.sum / m.n);
  return buffer;
}

}  // namespace

std::string render_depth_length_heatmap(const std::vector<const LeaderboardRow*>& rows, const std::string& metric) {
  std::vector<const LeaderboardRow*> with_depth;
  for (const LeaderboardRow* row : rows)
    if (task_params_of(*row).value("depth", nlohmann::json()).is_number()) with_depth.push_back(row);
  if (with_depth.empty()) return "";

  // Which other parameters (and d_model) vary, so tables never mix different settings.
  std::map<std::string, std::set<std::string>> values;
  std::set<int64_t> d_models;
  for (const LeaderboardRow* row : with_depth) {
    const nlohmann::json params = task_params_of(*row);
    for (auto it = params.begin(); it != params.end(); ++it)
      if (!kAxisOrUnswept.count(it.key())) values[it.key()].insert(it.value().dump());
    d_models.insert(row->d_model);
  }

  // group -> depth -> length -> mean
  std::map<std::string, std::map<double, std::map<int64_t, Mean>>> tables;
  std::map<std::string, std::set<int64_t>> lengths;
  for (const LeaderboardRow* row : with_depth) {
    const nlohmann::json params = task_params_of(*row);
    std::string group = backend_with_params(*row);
    for (const auto& [key, seen] : values)
      if (seen.size() > 1) group += " " + key + "=" + params.value(key, nlohmann::json()).dump();
    if (d_models.size() > 1) group += " d_model=" + std::to_string(row->d_model);
    const double depth = params.at("depth").get<double>();
    const nlohmann::json trained_length = params.value("seq_len", nlohmann::json());
    const int64_t seq_len = trained_length.is_number_integer() ? trained_length.get<int64_t>() : row->seq_len;
    auto& by_length = tables[group][depth];
    for (const auto& [name, value] : row->metrics) {
      const int64_t length = metric_length(name, metric, seq_len);
      if (length < 0) continue;
      // A length split at the training length repeats tests[0]; keep one of them.
      if (name == metric && row->metrics.count(metric + "@len" + std::to_string(length))) continue;
      by_length[length].sum += value;
      by_length[length].n += 1;
      lengths[group].insert(length);
    }
  }

  std::ostringstream out;
  for (const auto& [group, by_depth] : tables) {
    const std::set<int64_t>& columns = lengths[group];
    if (columns.empty()) continue;
    out << "\n" << metric << " by depth and length, " << group << ":\n\n| depth \\ length |";
    for (int64_t length : columns) out << " " << length << " |";
    out << "\n|---|";
    for (size_t i = 0; i < columns.size(); ++i) out << "---|";
    out << "\n";
    for (const auto& [depth, by_length] : by_depth) {
      char label[32];
      std::snprintf(label, sizeof(label), "%g", depth);
      out << "| " << label << " |";
      for (int64_t length : columns) {
        const auto it = by_length.find(length);
        out << " " << (it == by_length.end() ? "-" : format_cell(it->second)) << " |";
      }
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace seqbench
