// Statistics of repeated measurements and the noise-based stopping rule the profiler uses
// (nvbench / Google Benchmark style): warm up, then repeat until the estimate is precise enough
// or the time budget is spent, never fewer than a minimum number of repetitions.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "harness/results_store.h"

namespace seqbench {

struct SampleStats {
  int64_t n = 0;
  double median = 0, mean = 0, min = 0, max = 0;
  double stddev = 0;  // sample standard deviation (n - 1); 0 for n < 2
  // Half-width of the distribution-free 95% confidence interval of the median (order
  // statistics), over the median: how precisely the headline figure is known. Shrinks roughly as
  // 1/sqrt(n) and is robust to the outliers a shared machine produces. Infinite for n = 1.
  double relative_ci95 = 0;
  // stddev / median: how noisy a single repetition is (does not shrink with n).
  double relative_stddev = 0;
};

// Throws std::invalid_argument on an empty list.
SampleStats summarize_samples(const std::vector<double>& samples);

struct RepetitionPolicy {
  int warmup = 1;                  // runs before measuring (first-touch allocations, caches)
  int min_repetitions = 5;
  int max_repetitions = 10000;
  double target_rel_noise = 0.02;  // stop once relative_ci95 is at or below this
  double budget_s = 1.0;           // ... or once this much wall time was spent measuring
};

// Throws std::invalid_argument naming the bad field.
void validate_policy(const RepetitionPolicy& policy);

// Why a measurement stopped: its noise target was met, or the budget or the repetition cap.
enum class StopReason { noise_target, time_budget, max_repetitions };
const char* stop_reason_name(StopReason reason);

struct Measurement {
  std::vector<double> samples;  // every measured repetition, in order (warm-up excluded)
  SampleStats stats;
  StopReason stop = StopReason::noise_target;
  double wall_s = 0;            // time spent, warm-up included
};

// True when samples (at least min_repetitions of them) meet the policy's noise target.
bool noise_target_met(const std::vector<double>& samples, const RepetitionPolicy& policy);

// Calls `repetition` policy.warmup times (results dropped), then repeatedly, keeping each
// returned sample, until the stopping rule says so. `repetition` measures one run itself (so it
// can leave its set-up untimed) and returns the figure in the metric's unit. `between` (optional)
// runs before each repetition, e.g. to honour an interrupt request.
Measurement measure_repeated(const std::function<double()>& repetition, const RepetitionPolicy& policy,
                             const std::function<void()>& between = {});

// A stored metric named `name` (a base name from reports/metric_catalog.h plus an '@' suffix the
// catalog lists), its unit taken from the catalog: value = the median of the samples, with n, min,
// max, stddev and every sample. Every producer builds its metrics here, so units cannot drift.
// Throws std::invalid_argument for a name the catalog does not know.
Metric make_metric(const std::string& name, const std::vector<double>& samples);
Metric make_metric(const std::string& name, double value);  // a single sample
Metric make_metric(const std::string& name, const Measurement& m);

}  // namespace seqbench
