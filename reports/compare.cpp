#include "reports/compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "reports/mann_whitney.h"
#include "reports/table_text.h"

namespace seqbench {
namespace {

double ratio_of(double baseline, double candidate) {
  if (baseline == candidate) return 1.0;
  if (baseline == 0) return candidate > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  return candidate / baseline;
}

size_t finite_count(const std::vector<double>& samples) {
  size_t n = 0;
  for (double s : samples) n += !std::isnan(s);
  return n;
}

std::string p_text(const MetricComparison& row) {
  if (!row.p_value) return "-";
  return short_number(*row.p_value) + " (n=" + std::to_string(row.n_baseline) + "/" + std::to_string(row.n_candidate) + ")";
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

std::string render_markdown(const Comparison& c) {
  std::ostringstream out;
  out << "# seqbench compare\n\nbaseline:  " << c.baseline_label << "\ncandidate: " << c.candidate_label << "\n\n"
      << "ratio = candidate / baseline; beyond noise = two-sided Mann-Whitney U test p < alpha when both sides have "
         "enough repetitions, else a relative threshold.\n\n"
      << "| cell | metric | baseline | candidate | ratio | p-value | verdict |\n"
      << "|---|---|---:|---:|---:|---:|---|\n";
  for (const auto& r : c.rows)
    out << "| " << md_cell(r.cell) << " | " << r.metric << " | " << short_number(r.baseline) << " " << r.unit << " | "
        << short_number(r.candidate) << " " << r.unit << " | " << short_number(r.ratio) << " | " << p_text(r) << " | "
        << r.verdict() << " |\n";
  for (const auto& label : c.only_baseline) out << "\nonly in baseline: " << label;
  for (const auto& label : c.only_candidate) out << "\nonly in candidate: " << label;
  if (!c.only_baseline.empty() || !c.only_candidate.empty()) out << "\n";
  return out.str();
}

std::string render_csv(const Comparison& c) {
  std::ostringstream out;
  out << "cell,metric,unit,baseline,candidate,ratio,p_value,n_baseline,n_candidate,method,significant,verdict\n";
  for (const auto& r : c.rows)
    out << csv_field(r.cell) << "," << csv_field(r.metric) << "," << csv_field(r.unit) << "," << r.baseline << ","
        << r.candidate << "," << r.ratio << "," << (r.p_value ? short_number(*r.p_value) : "") << "," << r.n_baseline
        << "," << r.n_candidate << "," << r.method() << "," << (r.significant ? "true" : "false") << "," << r.verdict()
        << "\n";
  return out.str();
}

std::string render_json(const Comparison& c) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : c.rows)
    rows.push_back({{"cell", r.cell},
                    {"metric", r.metric},
                    {"unit", r.unit},
                    {"baseline", number_or_null(r.baseline)},
                    {"candidate", number_or_null(r.candidate)},
                    {"ratio", number_or_null(r.ratio)},
                    {"p_value", r.p_value ? nlohmann::json(*r.p_value) : nlohmann::json()},
                    {"n_baseline", r.n_baseline},
                    {"n_candidate", r.n_candidate},
                    {"method", r.method()},
                    {"significant", r.significant},
                    {"direction", direction_name(r.direction)},
                    {"verdict", r.verdict()}});
  nlohmann::json doc{{"baseline", c.baseline_label},
                     {"candidate", c.candidate_label},
                     {"rows", rows},
                     {"only_in_baseline", c.only_baseline},
                     {"only_in_candidate", c.only_candidate}};
  return doc.dump(2) + "\n";
}

}  // namespace

bool metric_selected(const std::string& name, const std::vector<std::string>& only) {
  if (only.empty()) return true;
  return std::any_of(only.begin(), only.end(), [&](const std::string& part) { return name.find(part) != std::string::npos; });
}

std::string MetricComparison::verdict() const {
  if (!significant) return "same";
  if (direction == MetricDirection::informational) return "changed";
  const bool up = candidate > baseline;
  return up == (direction == MetricDirection::higher_is_better) ? "better" : "worse";
}

std::string MetricComparison::method() const { return p_value ? "U test" : "threshold"; }

MetricComparison compare_metric(const std::string& cell, const Metric& baseline, const Metric& candidate,
                                const CompareOptions& options) {
  MetricComparison row;
  row.cell = cell;
  row.metric = baseline.name;
  // The catalog's unit wins over the stored one; a name it lacks keeps what the store says.
  const MetricInfo* info = find_metric_info(baseline.name);
  row.unit = info ? info->unit : baseline.unit.empty() ? candidate.unit : baseline.unit;
  row.baseline = baseline.value;
  row.candidate = candidate.value;
  row.ratio = ratio_of(baseline.value, candidate.value);
  row.n_baseline = baseline.n;
  row.n_candidate = candidate.n;
  row.direction = metric_direction(row.metric);
  const auto min = static_cast<size_t>(std::max(1, options.min_samples));
  if (finite_count(baseline.samples) >= min && finite_count(candidate.samples) >= min) {
    const MannWhitneyResult u = mann_whitney_u(baseline.samples, candidate.samples);
    row.p_value = u.p_value;
    row.n_baseline = u.n1;
    row.n_candidate = u.n2;
    row.significant = u.p_value < options.alpha;
  } else {
    row.significant = std::abs(row.ratio - 1.0) > options.threshold;
  }
  return row;
}

Comparison compare_runs(const LoadedRun& baseline, const LoadedRun& candidate, const CompareOptions& options) {
  Comparison c;
  c.baseline_label = baseline.label();
  c.candidate_label = candidate.label();
  for (const CellPair& pair : pair_cells(baseline, candidate)) {
    if (!pair.candidate) {
      c.only_baseline.push_back(pair.baseline->label);
      continue;
    }
    if (!pair.baseline) {
      c.only_candidate.push_back(pair.candidate->label);
      continue;
    }
    for (const Metric& m : pair.baseline->metrics)
      if (const Metric* other = find_metric(*pair.candidate, m.name); other && metric_selected(m.name, options.only))
        c.rows.push_back(compare_metric(pair.baseline->label, m, *other, options));
  }
  return c;
}

std::string render_comparison(const Comparison& comparison, const std::string& format) {
  if (format == "md" || format == "markdown") return render_markdown(comparison);
  if (format == "csv") return render_csv(comparison);
  if (format == "json") return render_json(comparison);
  throw std::invalid_argument("unknown compare format '" + format + "' (expected md, csv or json)");
}

}  // namespace seqbench
