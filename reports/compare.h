// `seqbench compare`: two runs cell by cell, metric by metric: both values, the relative change
// (the effect size), and whether the change is real. Google Benchmark compare.py's rule decides
// noise: a two-sided Mann-Whitney U test on the repetitions when both sides have enough of them
// and the test can reach alpha at those sample sizes, else the relative threshold alone. A change
// is called better or worse only when it is beyond noise AND at least the threshold, so a 1%
// drift on a quiet machine stays "same". A rate computed from a timing (prefill_tokens_per_s from
// prefill_ms, see reports/metric_catalog.h) follows that timing's verdict: one measurement, not two.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "reports/metric_catalog.h"
#include "reports/run_matching.h"

namespace seqbench {

struct CompareOptions {
  double alpha = 0.05;      // U test significance level (two-sided)
  double threshold = 0.05;  // smallest relative change called better or worse
  int min_samples = 3;      // per side, for the U test
  std::vector<std::string> only;  // compare only metrics whose name contains one of these
};

// True when `only` is empty or one of its entries occurs in name.
bool metric_selected(const std::string& name, const std::vector<std::string>& only);

// Throws std::invalid_argument when an entry of `only` matches no metric of either run: a typo
// (--only prefil_ms) must not make a comparison or a gate vacuous.
void check_only_matches(const LoadedRun& baseline, const LoadedRun& candidate, const std::vector<std::string>& only);

struct MetricComparison {
  std::string cell;  // the cell's label
  std::string metric, unit;
  double baseline = 0, candidate = 0;
  double ratio = 1;   // candidate / baseline
  double change = 0;  // ratio - 1: the relative change, the effect size shown
  int64_t n_baseline = 0, n_candidate = 0;
  std::optional<double> p_value;  // set when the U test ran
  bool u_test_reliable = false;   // the U test ran and could reach alpha at these sample sizes
  bool beyond_noise = false;      // p < alpha with a reliable U test; otherwise the threshold decides
  bool significant = false;       // beyond noise and |change| > threshold
  MetricDirection direction = MetricDirection::informational;
  std::string follows;            // the timing this rate is one measurement with, when both are compared
  std::string note;               // why the verdict was reached the way it was, when not the usual way
  // "same" (within noise or below the threshold), "better" / "worse" (by the metric's direction),
  // "changed" (informational), or "as <timing>" for a rate that follows its timing.
  std::string verdict() const;
  std::string method() const;  // "U test", "threshold" or "threshold (U test unreliable)"
};

MetricComparison compare_metric(const std::string& cell, const Metric& baseline, const Metric& candidate,
                                const CompareOptions& options);

struct Comparison {
  std::string baseline_label, candidate_label;
  CompareOptions options;
  std::vector<MetricComparison> rows;      // metrics present in both cells of a pair
  std::vector<std::string> only_baseline;  // cell labels without a partner
  std::vector<std::string> only_candidate;
};

// Throws std::invalid_argument as check_only_matches does.
Comparison compare_runs(const LoadedRun& baseline, const LoadedRun& candidate, const CompareOptions& options);

// Marks each rate row whose timing partner (same cell, same suffix) is among rows as following it.
void link_rates_to_timings(std::vector<MetricComparison>& rows);

// md (default), json or csv; throws std::invalid_argument for another format.
std::string render_comparison(const Comparison& comparison, const std::string& format);

}  // namespace seqbench
