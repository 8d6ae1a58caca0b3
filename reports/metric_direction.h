// Which way is better for each metric, so compare and gate can call a change an improvement or a
// regression. Looked up by the metric's base name (the part before '@', so prefill_ms@len256
// reads as prefill_ms), then by its unit; anything else is informational and never gated.
//
// | direction          | base names                                                     | units                    |
// |--------------------|----------------------------------------------------------------|--------------------------|
// | lower is better    | prefill_ms, decode_ms_per_token, train_step_ms, real_time_ms,   | ms, s, us, ns, bytes     |
// |                    | cpu_time_ms, peak_mem_bytes, kv_bytes, state_bytes              |                          |
// | higher is better   | accuracy, exact_match, train_tokens_per_s, prefill_tokens_per_s,| fraction, any "<x>/s"    |
// |                    | decode_tokens_per_s, tokens_per_s, flops_per_s, bytes_per_s,    |                          |
// |                    | items_per_s                                                     |                          |
// | informational      | train_seconds, train_steps, train_loss, best_lr, parameters     | (no other unit)          |
//
// Metrics in "fraction" units that are higher-better (accuracy, exact_match) are gated on an
// absolute drop, not a relative one: they are single scores, not repeated timings.
#pragma once
#include <string>

namespace seqbench {

enum class MetricDirection { lower_is_better, higher_is_better, informational };

std::string metric_base_name(const std::string& name);  // "prefill_ms@len256" -> "prefill_ms"
MetricDirection metric_direction(const std::string& name, const std::string& unit);
bool is_score_metric(const std::string& name, const std::string& unit);  // gated on an absolute drop
const char* direction_name(MetricDirection direction);

}  // namespace seqbench
