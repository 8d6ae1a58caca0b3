#include "reports/seed_groups.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "reports/metric_catalog.h"
#include "reports/metric_columns.h"
#include "reports/run_matching.h"

namespace seqbench {
namespace {

// t(0.975, df) for df = 1..30; the normal quantile past that.
constexpr double kStudentT975[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                   2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                   2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};

double student_t975(int64_t df) {
  if (df < 1) return 0;
  return df <= 30 ? kStudentT975[df - 1] : 1.96;
}

CellRecord record_of(const LeaderboardRow& row) {
  CellRecord record;
  record.backend = row.backend;
  record.task = row.task;
  record.params_json = row.params.dump();
  return record;
}

}  // namespace

SeedSummary summarize_seeds(const std::vector<double>& values, bool fraction) {
  SeedSummary s;
  s.n = static_cast<int64_t>(values.size());
  if (s.n == 0) return s;
  for (double v : values) s.mean += v / s.n;
  s.low = s.high = s.mean;
  if (s.n < 2) return s;
  double sq = 0;
  for (double v : values) sq += (v - s.mean) * (v - s.mean);
  const double half = student_t975(s.n - 1) * std::sqrt(sq / (s.n - 1)) / std::sqrt(static_cast<double>(s.n));
  s.low = s.mean - half;
  s.high = s.mean + half;
  if (fraction) {
    s.low = std::max(0.0, s.low);
    s.high = std::min(1.0, s.high);
  }
  return s;
}

std::vector<uint64_t> SeedGroup::seeds() const {
  std::vector<uint64_t> out;
  for (const auto* row : rows) out.push_back(row_seed(*row));
  std::sort(out.begin(), out.end());
  return out;
}

SeedSummary SeedGroup::summary(const std::string& metric) const {
  std::vector<double> values;
  for (const auto* row : rows) {
    auto it = row->metrics.find(metric);
    if (it != row->metrics.end()) values.push_back(it->second);
  }
  const MetricInfo* info = find_metric_info(metric);
  return summarize_seeds(values, info && info->unit == "fraction");
}

double SeedGroup::mean_or_nan(const std::string& metric) const {
  const SeedSummary s = summary(metric);
  return s.n > 0 ? s.mean : std::numeric_limits<double>::quiet_NaN();
}

std::vector<SeedGroup> group_by_seed(const std::vector<const LeaderboardRow*>& rows) {
  std::vector<SeedGroup> groups;
  std::map<std::string, size_t> index;
  for (const auto* row : rows) {
    // The width and depth are columns of the cell, not only of its parameters: key on them too.
    const std::string key = cell_match_key(record_of(*row)) + "|d" + std::to_string(row->d_model) + "|L" +
                            std::to_string(row->layers);
    auto it = index.find(key);
    if (it == index.end()) {
      index[key] = groups.size();
      groups.push_back({key, {row}});
    } else {
      groups[it->second].rows.push_back(row);
    }
  }
  return groups;
}

std::vector<SeedGroup> group_by_seed(const Leaderboard& board) {
  std::vector<const LeaderboardRow*> rows;
  for (const auto& row : board.rows) rows.push_back(&row);
  return group_by_seed(rows);
}

uint64_t row_seed(const LeaderboardRow& row) {
  const auto it = row.params.find("seed");
  return it != row.params.end() && it->is_number_unsigned() ? it->get<uint64_t>()
         : it != row.params.end() && it->is_number_integer() ? static_cast<uint64_t>(it->get<int64_t>())
                                                             : 0;
}

bool has_repeated_seeds(const std::vector<SeedGroup>& groups) {
  return std::any_of(groups.begin(), groups.end(), [](const SeedGroup& g) { return g.rows.size() > 1; });
}

std::string seed_summary_text(const std::string& metric, const SeedSummary& s) {
  if (s.n == 0) return "-";
  std::string out = metric_value_text(metric, s.mean);
  if (s.n > 1) out += " [" + metric_value_text(metric, s.low) + ", " + metric_value_text(metric, s.high) + "]";
  return out + " n=" + std::to_string(s.n);
}

}  // namespace seqbench
