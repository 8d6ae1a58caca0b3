#include "reports/metric_direction.h"

#include <set>

namespace seqbench {
namespace {

const std::set<std::string> kLowerIsBetter{"prefill_ms",  "decode_ms_per_token", "train_step_ms", "real_time_ms",
                                           "cpu_time_ms", "peak_mem_bytes",      "kv_bytes",      "state_bytes"};
const std::set<std::string> kHigherIsBetter{"accuracy",           "exact_match", "train_tokens_per_s",
                                            "prefill_tokens_per_s", "decode_tokens_per_s", "tokens_per_s",
                                            "flops_per_s",        "bytes_per_s", "items_per_s"};
// Outcomes of training that depend on early stopping or the learning-rate sweep: they explain a
// result but are not the thing a change should be judged on (accuracy is).
const std::set<std::string> kInformational{"train_seconds", "train_steps", "train_loss", "best_lr", "parameters"};
const std::set<std::string> kLowerUnits{"ms", "s", "us", "ns", "bytes"};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string metric_base_name(const std::string& name) { return name.substr(0, name.find('@')); }

MetricDirection metric_direction(const std::string& name, const std::string& unit) {
  const std::string base = metric_base_name(name);
  if (kLowerIsBetter.count(base)) return MetricDirection::lower_is_better;
  if (kHigherIsBetter.count(base)) return MetricDirection::higher_is_better;
  if (kInformational.count(base)) return MetricDirection::informational;
  if (kLowerUnits.count(unit)) return MetricDirection::lower_is_better;
  if (unit == "fraction" || ends_with(unit, "/s")) return MetricDirection::higher_is_better;
  return MetricDirection::informational;
}

bool is_score_metric(const std::string& name, const std::string& unit) {
  return unit == "fraction" && metric_direction(name, unit) == MetricDirection::higher_is_better;
}

const char* direction_name(MetricDirection direction) {
  switch (direction) {
    case MetricDirection::lower_is_better:
      return "lower is better";
    case MetricDirection::higher_is_better:
      return "higher is better";
    case MetricDirection::informational:
      return "informational";
  }
  return "unknown";
}

}  // namespace seqbench
