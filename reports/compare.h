// `seqbench compare`: two runs cell by cell, metric by metric: both values, their ratio, and
// whether the difference is beyond noise (Google Benchmark compare.py's rule: a two-sided
// Mann-Whitney U test on the repetitions when both sides have enough of them, else a fixed
// relative threshold).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "reports/metric_catalog.h"
#include "reports/run_matching.h"

namespace seqbench {

struct CompareOptions {
  double alpha = 0.05;      // U test significance level (two-sided)
  double threshold = 0.05;  // relative change counted as real when there are too few samples
  int min_samples = 3;      // per side, for the U test
  std::vector<std::string> only;  // compare only metrics whose name contains one of these
};

// True when `only` is empty or one of its entries occurs in name.
bool metric_selected(const std::string& name, const std::vector<std::string>& only);

struct MetricComparison {
  std::string cell;  // the cell's label
  std::string metric, unit;
  double baseline = 0, candidate = 0;
  double ratio = 1;  // candidate / baseline
  int64_t n_baseline = 0, n_candidate = 0;
  std::optional<double> p_value;  // set when the U test was used
  bool significant = false;       // p < alpha, or |ratio - 1| > threshold without a U test
  MetricDirection direction = MetricDirection::informational;
  // "same" (within noise), "better" / "worse" (by the metric's direction), "changed".
  std::string verdict() const;
  std::string method() const;  // "U test" or "threshold"
};

MetricComparison compare_metric(const std::string& cell, const Metric& baseline, const Metric& candidate,
                                const CompareOptions& options);

struct Comparison {
  std::string baseline_label, candidate_label;
  std::vector<MetricComparison> rows;      // metrics present in both cells of a pair
  std::vector<std::string> only_baseline;  // cell labels without a partner
  std::vector<std::string> only_candidate;
};

Comparison compare_runs(const LoadedRun& baseline, const LoadedRun& candidate, const CompareOptions& options);

// md (default), json or csv; throws std::invalid_argument for another format.
std::string render_comparison(const Comparison& comparison, const std::string& format);

}  // namespace seqbench
