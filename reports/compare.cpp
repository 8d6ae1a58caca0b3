#include "reports/compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
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
  return short_number(*row.p_value) + " (n=" + std::to_string(row.n_baseline) + "/" + std::to_string(row.n_candidate) +
         (row.u_test_reliable ? "" : ", unreliable") + ")";
}

std::string signed_percent(double change) {
  if (!std::isfinite(change)) return change > 0 ? "+inf" : "-inf";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%+.1f%%", 100 * change);
  return buffer;
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

std::string verdict_counts(const Comparison& c) {
  std::map<std::string, int> counts;
  int following = 0;
  for (const auto& r : c.rows) {
    if (!r.follows.empty()) {
      ++following;
      continue;
    }
    ++counts[r.verdict()];
  }
  std::string out = std::to_string(c.rows.size()) + " metrics compared: ";
  bool first = true;
  for (const char* verdict : {"worse", "better", "changed", "same"}) {
    if (!counts.count(verdict)) continue;
    out += std::string(first ? "" : ", ") + std::to_string(counts[verdict]) + " " + verdict;
    first = false;
  }
  if (following) out += "; " + std::to_string(following) + " rates follow their timings";
  return out;
}

std::string render_markdown(const Comparison& c) {
  std::ostringstream out;
  const CompareOptions& o = c.options;
  out << "# seqbench compare\n\nbaseline:  " << c.baseline_label << "\ncandidate: " << c.candidate_label << "\n\n"
      << "change = candidate / baseline - 1. Better or worse = a change of more than " << short_number(100 * o.threshold)
      << "% that is beyond noise: two-sided Mann-Whitney U test p < " << short_number(o.alpha) << " when both sides have >= "
      << o.min_samples << " repetitions and the test can reach that level; otherwise the change alone decides.\n\n"
      << verdict_counts(c) << "\n\n"
      << "| cell | metric | baseline | candidate | change | p-value | verdict |\n"
      << "|---|---|---:|---:|---:|---:|---|\n";
  for (const auto& r : c.rows)
    out << "| " << md_cell(r.cell) << " | " << r.metric << " | " << short_number(r.baseline) << " " << r.unit << " | "
        << short_number(r.candidate) << " " << r.unit << " | " << signed_percent(r.change) << " | " << p_text(r)
        << " | " << r.verdict() << " |\n";
  std::set<std::string> notes;
  for (const auto& r : c.rows)
    if (!r.note.empty() && r.follows.empty()) notes.insert(r.note);
  for (const auto& note : notes) out << "\nnote: " << note;
  if (!notes.empty()) out << "\n";
  for (const auto& label : c.only_baseline) out << "\nonly in baseline: " << label;
  for (const auto& label : c.only_candidate) out << "\nonly in candidate: " << label;
  if (!c.only_baseline.empty() || !c.only_candidate.empty()) out << "\n";
  return out.str();
}

std::string render_csv(const Comparison& c) {
  std::ostringstream out;
  out << "cell,metric,unit,baseline,candidate,ratio,change,p_value,n_baseline,n_candidate,method,significant,verdict,"
         "note\n";
  for (const auto& r : c.rows)
    out << csv_field(r.cell) << "," << csv_field(r.metric) << "," << csv_field(r.unit) << "," << r.baseline << ","
        << r.candidate << "," << r.ratio << "," << r.change << "," << (r.p_value ? short_number(*r.p_value) : "") << ","
        << r.n_baseline << "," << r.n_candidate << "," << r.method() << "," << (r.significant ? "true" : "false") << ","
        << csv_field(r.verdict()) << "," << csv_field(r.note) << "\n";
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
                    {"change", number_or_null(r.change)},
                    {"p_value", r.p_value ? nlohmann::json(*r.p_value) : nlohmann::json()},
                    {"n_baseline", r.n_baseline},
                    {"n_candidate", r.n_candidate},
                    {"method", r.method()},
                    {"significant", r.significant},
                    {"direction", direction_name(r.direction)},
                    {"follows", r.follows},
                    {"note", r.note},
                    {"verdict", r.verdict()}});
  nlohmann::json doc{{"baseline", c.baseline_label},
                     {"candidate", c.candidate_label},
                     {"alpha", c.options.alpha},
                     {"threshold", c.options.threshold},
                     {"min_samples", c.options.min_samples},
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

void check_only_matches(const LoadedRun& baseline, const LoadedRun& candidate, const std::vector<std::string>& only) {
  std::set<std::string> names;
  for (const LoadedRun* run : {&baseline, &candidate})
    for (const LoadedCell& cell : run->cells)
      for (const Metric& m : cell.metrics) names.insert(m.name);
  for (const std::string& part : only) {
    if (std::any_of(names.begin(), names.end(), [&](const std::string& n) { return n.find(part) != std::string::npos; }))
      continue;
    std::set<std::string> bases;
    for (const auto& n : names) bases.insert(metric_base_name(n));
    std::string known;
    for (const auto& b : bases) known += (known.empty() ? "" : ", ") + b;
    throw std::invalid_argument("--only '" + part + "' matches no metric of either run (their metrics: " +
                                (known.empty() ? "none" : known) + ")");
  }
}

std::string MetricComparison::verdict() const {
  if (!follows.empty()) return "as " + follows;
  if (!significant) return "same";
  if (direction == MetricDirection::informational) return "changed";
  const bool up = candidate > baseline;
  return up == (direction == MetricDirection::higher_is_better) ? "better" : "worse";
}

std::string MetricComparison::method() const {
  if (!p_value) return "threshold";
  return u_test_reliable ? "U test" : "threshold (U test unreliable)";
}

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
  row.change = row.ratio - 1;
  row.n_baseline = baseline.n;
  row.n_candidate = candidate.n;
  row.direction = metric_direction(row.metric);
  row.beyond_noise = true;  // unless a reliable U test says otherwise
  const auto min = static_cast<size_t>(std::max(1, options.min_samples));
  if (finite_count(baseline.samples) >= min && finite_count(candidate.samples) >= min) {
    const MannWhitneyResult u = mann_whitney_u(baseline.samples, candidate.samples);
    row.p_value = u.p_value;
    row.n_baseline = u.n1;
    row.n_candidate = u.n2;
    const double floor = smallest_two_sided_p(u.n1, u.n2);
    row.u_test_reliable = floor < options.alpha;
    if (row.u_test_reliable) {
      row.beyond_noise = u.p_value < options.alpha;
    } else {
      row.note = "with " + std::to_string(u.n1) + " vs " + std::to_string(u.n2) +
                 " repetitions the U test cannot reach p < " + short_number(options.alpha) + " (smallest p " +
                 short_number(floor) + "): the relative change alone decides; repeat more for a noise-aware verdict";
    }
  }
  row.significant = row.beyond_noise && std::abs(row.change) > options.threshold;
  return row;
}

void link_rates_to_timings(std::vector<MetricComparison>& rows) {
  std::set<std::pair<std::string, std::string>> present;
  for (const auto& r : rows) present.insert({r.cell, r.metric});
  for (auto& r : rows) {
    const std::string partner = rate_timing_partner(r.metric);
    if (!partner.empty() && present.count({r.cell, partner})) {
      r.follows = partner;
      r.note = "one measurement with " + partner + ", judged there";
    }
  }
}

Comparison compare_runs(const LoadedRun& baseline, const LoadedRun& candidate, const CompareOptions& options) {
  check_only_matches(baseline, candidate, options.only);
  Comparison c{baseline.label(), candidate.label(), options};
  for (const CellPair& pair : pair_cells(baseline, candidate)) {
    if (!pair.candidate) {
      c.only_baseline.push_back(pair.label);
      continue;
    }
    if (!pair.baseline) {
      c.only_candidate.push_back(pair.label);
      continue;
    }
    for (const Metric& m : pair.baseline->metrics)
      if (const Metric* other = find_metric(*pair.candidate, m.name); other && metric_selected(m.name, options.only))
        c.rows.push_back(compare_metric(pair.label, m, *other, options));
  }
  link_rates_to_timings(c.rows);
  return c;
}

std::string render_comparison(const Comparison& comparison, const std::string& format) {
  if (format == "md" || format == "markdown") return render_markdown(comparison);
  if (format == "csv") return render_csv(comparison);
  if (format == "json") return render_json(comparison);
  throw std::invalid_argument("unknown compare format '" + format + "' (expected md, csv or json)");
}

}  // namespace seqbench
