// The metric catalog: the one list of every metric seqbench writes, with its unit, which way is
// better, what kind of figure it is and what it means. Producers build metrics through it
// (make_metric in harness/timing_stats.h takes the unit from here, so two producers cannot
// disagree on a unit), compare and gate read direction and unit from it, and `seqbench list
// metrics` prints it.
//
// A stored name is a base name plus an optional '@' suffix that says where it was measured
// (prefill_ms@len256, accuracy@len512, peak_mem_bytes@train); lookups go by the base name, and
// each entry lists the suffixes it is written with (<N> stands for a positive integer).
//
// Rates computed from a timing (prefill_tokens_per_s from prefill_ms, ...) name that timing in
// `rate_of`: the two are one measurement, so compare and gate judge the timing and let the rate
// follow it instead of counting one slowdown twice.
#pragma once
#include <string>
#include <vector>

namespace seqbench {

enum class MetricDirection { lower_is_better, higher_is_better, informational };
enum class MetricKind { score, timing, memory, informational };

struct MetricInfo {
  std::string name;                   // base name, the part before '@'
  std::vector<std::string> suffixes;  // accepted '@' forms, e.g. {"", "@len<N>"}; "" = no suffix
  std::string unit;                   // "fraction", "ms", "bytes", "tokens/s", ...
  MetricDirection direction;
  MetricKind kind;
  std::string description;
  std::string rate_of;  // base name of the timing this rate is computed from; "" when none
};

// Every metric, scores first, then timings, memory and informational figures.
const std::vector<MetricInfo>& metric_catalog();

std::string metric_base_name(const std::string& name);  // "prefill_ms@len256" -> "prefill_ms"

// The entry for a stored name (looked up by base name), or nullptr when the catalog lacks it.
// Readers use this: a store may hold names from another version of seqbench.
const MetricInfo* find_metric_info(const std::string& name);

// The entry for a name a producer is about to write. Throws std::invalid_argument naming the
// metric when its base name is not in the catalog or its suffix is not one the entry lists.
const MetricInfo& checked_metric_info(const std::string& name);

// Direction by name; a name outside the catalog is informational (never gated).
MetricDirection metric_direction(const std::string& name);
// Scores (accuracy, exact match) are gated on an absolute drop, not a relative change.
bool is_score_metric(const std::string& name);
// For a rate with a timing partner, the partner's full name with the same suffix
// ("decode_tokens_per_s@ctx512" -> "decode_ms_per_token@ctx512"); "" otherwise.
std::string rate_timing_partner(const std::string& name);

const char* direction_name(MetricDirection direction);  // "lower is better", "higher is better", "informational"
const char* kind_name(MetricKind kind);                 // "score", "timing", "memory", "informational"

// The catalog as an aligned text table (name with suffixes, unit, direction, kind, description).
std::string render_metric_catalog();

}  // namespace seqbench
