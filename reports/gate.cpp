#include "reports/gate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "harness/enum_names.h"
#include "reports/table_text.h"

namespace seqbench {
namespace {

std::string percent(double fraction) {
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%.1f%%", 100 * fraction);
  return buffer;
}

// How noise was judged: by a U test that can reach alpha, or by the change alone (and why).
std::string noise_note(const MetricComparison& c) {
  if (!c.p_value) return c.n_baseline > 1 || c.n_candidate > 1 ? "too few repetitions for a U test" : "single sample";
  if (!c.u_test_reliable)
    return "U test unreliable with " + std::to_string(c.n_baseline) + " vs " + std::to_string(c.n_candidate) +
           " repetitions (p=" + short_number(*c.p_value) + " is the best it can do): judged on the change alone";
  return "U test p=" + short_number(*c.p_value);
}

// Relative change in the worse direction: +0.1 = 10% worse.
double worse_fraction(double baseline, double candidate, MetricDirection direction) {
  if (baseline == candidate) return 0;
  const double delta = direction == MetricDirection::lower_is_better ? candidate - baseline : baseline - candidate;
  if (baseline == 0) return delta > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  return delta / std::abs(baseline);
}

GateRow judge_score(GateRow row, const GateOptions& o) {
  row.change = row.baseline - row.candidate;
  const std::string limit = short_number(o.max_accuracy_drop) + " absolute";
  if (row.change > o.max_accuracy_drop) {
    row.verdict = GateVerdict::regressed;
    row.reason = "dropped by " + short_number(row.change) + " (> " + limit + ")";
  } else if (-row.change > o.max_accuracy_drop) {
    row.verdict = GateVerdict::improved;
    row.reason = "rose by " + short_number(-row.change);
  } else {
    row.reason = "within " + limit;
  }
  return row;
}

GateRow judge_metric(const MetricComparison& c, const GateOptions& o) {
  GateRow row{c.cell, c.metric, c.unit, c.baseline, c.candidate, /*change=*/0, c.p_value};
  if (c.direction == MetricDirection::informational) {
    row.verdict = GateVerdict::informational;
    row.reason = find_metric_info(c.metric) ? "not gated (informational)" : "not gated (not in the metric catalog)";
    return row;
  }
  if (!c.follows.empty()) {
    row.verdict = GateVerdict::informational;
    row.reason = "one measurement with " + c.follows + ", gated there";
    return row;
  }
  if (is_score_metric(c.metric)) return judge_score(row, o);
  row.change = worse_fraction(c.baseline, c.candidate, c.direction);
  const bool significant = c.beyond_noise;
  const std::string limit = percent(o.max_regression);
  if (row.change > o.max_regression) {
    row.verdict = significant ? GateVerdict::regressed : GateVerdict::within_noise;
    row.reason = "worse by " + percent(row.change) + " (> " + limit + "), " + noise_note(c) +
                 (significant ? "" : ": not beyond noise");
  } else if (-row.change > o.max_regression && significant) {
    row.verdict = GateVerdict::improved;
    row.reason = "better by " + percent(-row.change) + ", " + noise_note(c);
  } else {
    row.reason = "within " + limit + (c.p_value ? ", " + noise_note(c) : "");
  }
  return row;
}

GateRow cell_row(const std::string& cell, GateVerdict verdict, const std::string& reason) {
  GateRow row;
  row.cell = cell;
  row.metric = "(cell)";
  row.verdict = verdict;
  row.reason = reason;
  return row;
}

int severity(GateVerdict v) {
  switch (v) {
    case GateVerdict::regressed:
      return 0;
    case GateVerdict::within_noise:
      return 1;
    case GateVerdict::improved:
      return 2;
    case GateVerdict::pass:
      return 3;
    case GateVerdict::informational:
      return 4;
  }
  return 5;
}

}  // namespace

std::string gate_change_text(const GateRow& r) {
  if (r.metric == "(cell)" || r.verdict == GateVerdict::informational) return "-";
  // Scores change in absolute terms; everything else relative, shown with the sign of "worse".
  if (r.change == 0) return "0";
  if (is_score_metric(r.metric)) return (r.change > 0 ? "" : "+") + short_number(-r.change);
  return r.change > 0 ? percent(r.change) + " worse" : percent(-r.change) + " better";
}

std::vector<const GateRow*> rows_by_severity(const GateResult& result) {
  std::vector<const GateRow*> sorted;
  for (const auto& r : result.rows) sorted.push_back(&r);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const GateRow* a, const GateRow* b) { return severity(a->verdict) < severity(b->verdict); });
  return sorted;
}

const char* gate_verdict_name(GateVerdict verdict) {
  static constexpr EnumName<GateVerdict> kNames[] = {{GateVerdict::pass, "pass"},
                                                     {GateVerdict::improved, "improved"},
                                                     {GateVerdict::within_noise, "noise"},
                                                     {GateVerdict::regressed, "REGRESSED"},
                                                     {GateVerdict::informational, "info"}};
  return name_in(kNames, verdict, "unknown");
}

int GateResult::regressions() const {
  return static_cast<int>(std::count_if(rows.begin(), rows.end(),
                                        [](const GateRow& r) { return r.verdict == GateVerdict::regressed; }));
}

GateResult gate_runs(const LoadedRun& baseline, const LoadedRun& candidate, const GateOptions& options) {
  check_only_matches(baseline, candidate, options.only);
  GateResult result{baseline.label(), candidate.label(), options};
  CompareOptions compare;
  compare.alpha = options.alpha;
  compare.threshold = options.max_regression;
  compare.min_samples = options.min_samples;
  const GateVerdict missing = options.allow_missing ? GateVerdict::informational : GateVerdict::regressed;
  int matched = 0;
  for (const CellPair& pair : pair_cells(baseline, candidate)) {
    if (!pair.candidate) {
      result.rows.push_back(cell_row(pair.label, missing, "cell missing from the candidate run"));
      continue;
    }
    if (!pair.baseline) {
      result.rows.push_back(cell_row(pair.label, GateVerdict::informational, "new in the candidate run"));
      continue;
    }
    ++matched;
    const CellRecord& before = pair.baseline->row.cell;
    const CellRecord& after = pair.candidate->row.cell;
    if (after.status != "ok") {
      const bool was_ok = before.status == "ok";
      result.rows.push_back(cell_row(pair.label, was_ok ? GateVerdict::regressed : GateVerdict::informational,
                                     std::string(was_ok ? "cell failed in the candidate: " : "failed in both: ") + after.error));
      continue;
    }
    if (before.status != "ok")
      result.rows.push_back(cell_row(pair.label, GateVerdict::improved, "cell failed in the baseline, runs now"));
    std::vector<MetricComparison> compared;
    for (const Metric& m : pair.baseline->metrics) {
      if (!metric_selected(m.name, options.only)) continue;
      if (const Metric* other = find_metric(*pair.candidate, m.name)) {
        compared.push_back(compare_metric(pair.label, m, *other, compare));
      } else if (metric_direction(m.name) != MetricDirection::informational) {
        GateRow row = cell_row(pair.label, missing, "metric missing from the candidate");
        row.metric = m.name;
        row.baseline = m.value;
        result.rows.push_back(row);
      }
    }
    link_rates_to_timings(compared);  // a rate and its timing are one measurement: gate the timing
    for (const MetricComparison& c : compared) result.rows.push_back(judge_metric(c, options));
  }
  if (matched == 0)
    throw std::invalid_argument("nothing to gate: " + baseline.label() + " and " + candidate.label() +
                                " have no cell in common (same backend, task and parameters)");
  if (std::none_of(result.rows.begin(), result.rows.end(),
                   [](const GateRow& r) { return r.verdict != GateVerdict::informational; }))
    throw std::invalid_argument("nothing to gate: every selected metric is informational (" +
                                std::to_string(result.rows.size()) +
                                " rows); choose timing, memory or score metrics (`seqbench list metrics`)");
  return result;
}

std::string render_gate(const GateResult& result, const std::string& format) {
  if (format == "json") {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : result.rows)
      rows.push_back({{"cell", r.cell}, {"metric", r.metric}, {"unit", r.unit}, {"baseline", r.baseline},
                      {"candidate", r.candidate}, {"change", std::isfinite(r.change) ? nlohmann::json(r.change) : nlohmann::json()},
                      {"p_value", r.p_value ? nlohmann::json(*r.p_value) : nlohmann::json()},
                      {"verdict", gate_verdict_name(r.verdict)}, {"reason", r.reason}});
    return nlohmann::json{{"passed", result.passed()},        {"regressions", result.regressions()},
                          {"baseline", result.baseline_label}, {"candidate", result.candidate_label},
                          {"max_regression", result.options.max_regression},
                          {"max_accuracy_drop", result.options.max_accuracy_drop},
                          {"alpha", result.options.alpha},     {"rows", rows}}
               .dump(2) +
           "\n";
  }
  std::ostringstream out;
  if (format == "csv") {
    out << "verdict,cell,metric,unit,baseline,candidate,change,p_value,reason\n";
    for (const auto& r : result.rows)
      out << gate_verdict_name(r.verdict) << "," << csv_field(r.cell) << "," << csv_field(r.metric) << ","
          << csv_field(r.unit) << "," << r.baseline << "," << r.candidate << "," << r.change << ","
          << (r.p_value ? short_number(*r.p_value) : "") << "," << csv_field(r.reason) << "\n";
    return out.str();
  }
  if (format != "md" && format != "markdown")
    throw std::invalid_argument("unknown gate format '" + format + "' (expected md, csv or json)");
  const GateOptions& o = result.options;
  out << "# seqbench gate: " << (result.passed() ? "PASS" : "FAIL") << " (" << result.regressions()
      << " regressions)\n\nbaseline:  " << result.baseline_label << "\ncandidate: " << result.candidate_label
      << "\n\nA regression is worse by more than " << percent(o.max_regression) << " and beyond noise (two-sided "
      << "Mann-Whitney U test p < " << short_number(o.alpha) << " when both sides have >= " << o.min_samples
      << " repetitions and the test can reach that level, else the change alone); scores (accuracy) by more than " << short_number(o.max_accuracy_drop) << " absolute.\n\n"
      << "| verdict | cell | metric | baseline | candidate | change | why |\n|---|---|---|---:|---:|---:|---|\n";
  for (const GateRow* r : rows_by_severity(result))
    out << "| " << gate_verdict_name(r->verdict) << " | " << md_cell(r->cell) << " | " << r->metric << " | "
        << short_number(r->baseline) << " " << r->unit << " | " << short_number(r->candidate) << " " << r->unit
        << " | " << gate_change_text(*r) << " | " << md_cell(r->reason) << " |\n";
  return out.str();
}

}  // namespace seqbench
