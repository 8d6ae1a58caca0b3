#include "harness/timing_stats.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "harness/enum_names.h"
#include "reports/metric_catalog.h"

namespace seqbench {
namespace {

// Distribution-free 95% confidence interval of the median from order statistics (Conover,
// Practical Nonparametric Statistics, 3rd ed., 3.2): ranks j = floor(n/2 - 1.96 sqrt(n)/2) and
// k = ceil(1 + n/2 + 1.96 sqrt(n)/2), 1-based and clamped to the sample. Timings on a shared
// machine have heavy right tails (preemption, page faults); one outlier widens a mean-and-stddev
// interval a lot but moves an order statistic by one place.
double median_ci95_half_width(const std::vector<double>& sorted) {
  const double n = static_cast<double>(sorted.size());
  const double spread = 1.96 * std::sqrt(n) / 2;
  const auto last = static_cast<int64_t>(sorted.size());
  const int64_t j = std::clamp<int64_t>(static_cast<int64_t>(std::floor(n / 2 - spread)), 1, last);
  const int64_t k = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(1 + n / 2 + spread)), 1, last);
  return 0.5 * (sorted[k - 1] - sorted[j - 1]);
}

}  // namespace

SampleStats summarize_samples(const std::vector<double>& samples) {
  if (samples.empty()) throw std::invalid_argument("cannot summarize an empty list of samples");
  SampleStats s;
  s.n = static_cast<int64_t>(samples.size());
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const size_t mid = sorted.size() / 2;
  s.median = sorted.size() % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
  s.min = sorted.front();
  s.max = sorted.back();
  s.mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(s.n);
  if (s.n > 1) {
    double squares = 0;
    for (double v : sorted) squares += (v - s.mean) * (v - s.mean);
    s.stddev = std::sqrt(squares / static_cast<double>(s.n - 1));
  }
  const double scale = std::abs(s.median);
  if (scale > 0) {
    s.relative_stddev = s.stddev / scale;
    s.relative_ci95 = s.n > 1 ? median_ci95_half_width(sorted) / scale : std::numeric_limits<double>::infinity();
  } else {
    s.relative_stddev = s.stddev > 0 ? std::numeric_limits<double>::infinity() : 0.0;
    s.relative_ci95 = s.relative_stddev;
  }
  return s;
}

void validate_policy(const RepetitionPolicy& p) {
  auto bad = [](const std::string& what) { throw std::invalid_argument("profile " + what); };
  if (p.warmup < 0) bad("warmup must be >= 0, got " + std::to_string(p.warmup));
  if (p.min_repetitions < 1) bad("min_repetitions must be >= 1, got " + std::to_string(p.min_repetitions));
  if (p.max_repetitions < p.min_repetitions)
    bad("max_repetitions (" + std::to_string(p.max_repetitions) + ") must be >= min_repetitions (" +
        std::to_string(p.min_repetitions) + ")");
  if (!(p.target_rel_noise >= 0)) bad("target_rel_noise must be >= 0, got " + std::to_string(p.target_rel_noise));
  if (!(p.budget_s >= 0)) bad("budget_s must be >= 0, got " + std::to_string(p.budget_s));
}

const char* stop_reason_name(StopReason reason) {
  static constexpr EnumName<StopReason> kNames[] = {{StopReason::noise_target, "noise_target"},
                                                    {StopReason::time_budget, "time_budget"},
                                                    {StopReason::max_repetitions, "max_repetitions"}};
  return name_in(kNames, reason, "unknown");
}

bool noise_target_met(const std::vector<double>& samples, const RepetitionPolicy& policy) {
  if (static_cast<int64_t>(samples.size()) < policy.min_repetitions) return false;
  return summarize_samples(samples).relative_ci95 <= policy.target_rel_noise;
}

Measurement measure_repeated(const std::function<double()>& repetition, const RepetitionPolicy& policy,
                             const std::function<void()>& between) {
  validate_policy(policy);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  for (int i = 0; i < policy.warmup; ++i) {
    if (between) between();
    repetition();
  }
  // The budget covers the measured repetitions only: a slow warm-up must not starve them.
  const auto measuring_start = Clock::now();
  auto measuring = [&] { return std::chrono::duration<double>(Clock::now() - measuring_start).count(); };
  Measurement m;
  while (true) {
    if (between) between();
    m.samples.push_back(repetition());
    const auto n = static_cast<int64_t>(m.samples.size());
    if (n < policy.min_repetitions) continue;
    if (noise_target_met(m.samples, policy)) {
      m.stop = StopReason::noise_target;
      break;
    }
    if (n >= policy.max_repetitions) {
      m.stop = StopReason::max_repetitions;
      break;
    }
    if (measuring() >= policy.budget_s) {
      m.stop = StopReason::time_budget;
      break;
    }
  }
  m.stats = summarize_samples(m.samples);
  m.wall_s = elapsed();
  return m;
}

Metric make_metric(const std::string& name, const std::vector<double>& samples) {
  const MetricInfo& info = checked_metric_info(name);
  const SampleStats s = summarize_samples(samples);
  return Metric{name, s.median, info.unit, s.n, s.min, s.max, s.stddev, samples};  // in declaration order
}

Metric make_metric(const std::string& name, double value) { return make_metric(name, std::vector<double>{value}); }

Metric make_metric(const std::string& name, const Measurement& m) { return make_metric(name, m.samples); }

}  // namespace seqbench
