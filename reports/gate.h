// `seqbench gate`: pass or fail a candidate run against a baseline. A metric regresses when it is
// worse (by its direction in reports/metric_catalog.h) by more than max_regression AND the
// difference is beyond noise: the two-sided Mann-Whitney U test rejects at alpha when both sides
// have min_samples repetitions and the test can reach alpha at those sizes (3 vs 3 cannot: its
// smallest p is 0.1); otherwise the change alone decides, and the row says so. A rate follows its
// timing (one measurement, gated once). Scores (accuracy, exact match: single numbers in [0, 1])
// regress when they drop by more than max_accuracy_drop, absolute. A cell that ran in the baseline
// but failed in the candidate regresses; so does a cell or gated metric the candidate lacks,
// unless allow_missing. A gate that would gate nothing (a filter matching no metric, only
// informational metrics) is an error, not a pass.
#pragma once
#include <string>
#include <vector>

#include "reports/compare.h"

namespace seqbench {

struct GateOptions {
  double max_regression = 0.05;     // relative, e.g. 0.05 = 5% slower / more memory / fewer tokens/s
  double max_accuracy_drop = 0.01;  // absolute, for score metrics
  double alpha = 0.05;
  int min_samples = 3;              // per side, for the U test
  bool allow_missing = false;
  std::vector<std::string> only;    // gate only metrics whose name contains one of these
};

enum class GateVerdict { pass, improved, within_noise, regressed, informational };
const char* gate_verdict_name(GateVerdict verdict);

struct GateRow {
  std::string cell, metric, unit;
  double baseline = 0, candidate = 0;
  double change = 0;  // relative change (absolute for scores), positive = worse
  std::optional<double> p_value;
  GateVerdict verdict = GateVerdict::pass;
  std::string reason;
};

struct GateResult {
  std::string baseline_label, candidate_label;
  GateOptions options;
  std::vector<GateRow> rows;
  int regressions() const;
  bool passed() const { return regressions() == 0; }
};

// Throws std::invalid_argument when the two runs have no cell in common, an `only` entry matches
// no metric, or nothing but informational metrics is selected.
GateResult gate_runs(const LoadedRun& baseline, const LoadedRun& candidate, const GateOptions& options);

// md (default), json or csv.
std::string render_gate(const GateResult& result, const std::string& format);

// Regressions first, then changes within noise, improvements, passes and informational rows.
std::vector<const GateRow*> rows_by_severity(const GateResult& result);
// The change as a person reads it: "12.0% worse", "3.1% better", "-0.02" for a score, "-".
std::string gate_change_text(const GateRow& row);

}  // namespace seqbench
