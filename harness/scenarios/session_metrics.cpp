// Per-turn metrics and their turn-0 means (session_metrics.h).
#include "harness/scenarios/session_metrics.h"

#include <map>

#include "harness/timing_stats.h"

namespace seqbench {
namespace {

void add(std::vector<Metric>& out, const std::string& name, double value, int64_t turn) {
  Metric m = make_metric(name, value);
  m.turn = turn;
  out.push_back(std::move(m));
}

void add_turn(std::vector<Metric>& out, const TurnTotals& r, int64_t turn, SessionMode mode, int64_t attention_layers) {
  const double n = static_cast<double>(r.sessions);
  add(out, "answer_exact_match", r.exact / n, turn);
  add(out, "answer_token_accuracy", r.tokens_right / r.tokens, turn);
  add(out, "session_peak_mem_bytes", r.peak_bytes, turn);
  if (mode == SessionMode::one_pass) return;  // no cache, no per-turn phases
  const double batches = static_cast<double>(r.batches);
  add(out, "turn_prefill_ms", r.prefill_ms / batches, turn);
  if (r.decode_steps > 0) add(out, "turn_decode_ms_per_token", r.decode_ms / static_cast<double>(r.decode_steps), turn);
  add(out, "compress_ms", r.compress_ms / batches, turn);
  add(out, "restore_ms", r.restore_ms / batches, turn);
  add(out, "session_kv_bytes", r.kv_bytes / n, turn);
  if (attention_layers == 0) return;
  add(out, "kept_tokens", r.kept_tokens / n, turn);
  double mean = 0;
  for (size_t l = 0; l < r.retained_by_layer.size(); ++l) {
    add(out, "needle_retained@layer" + std::to_string(l + 1), r.retained_by_layer[l] / n, turn);
    mean += r.retained_by_layer[l] / n / static_cast<double>(r.retained_by_layer.size());
  }
  add(out, "needle_retained", mean, turn);
  for (int bin = 0; bin < kDepthBins; ++bin)
    if (r.sessions_by_depth[bin] > 0)
      add(out, "needle_retained@depth" + std::to_string(10 * (bin + 1)),
          r.retained_by_depth[bin] / r.sessions_by_depth[bin], turn);
}

}  // namespace

std::vector<Metric> session_metrics(const SessionRunResult& run, SessionMode mode) {
  std::vector<Metric> out;
  for (size_t t = 0; t < run.turns.size(); ++t)
    add_turn(out, run.turns[t], static_cast<int64_t>(t + 1), mode, run.attention_layers);
  // Turn 0: each figure's mean over the turns that have it, in first-seen order.
  std::vector<std::string> order;
  std::map<std::string, std::pair<double, int>> sums;
  for (const Metric& m : out) {
    auto [it, fresh] = sums.try_emplace(m.name, 0.0, 0);
    if (fresh) order.push_back(m.name);
    it->second.first += m.value;
    ++it->second.second;
  }
  for (const std::string& name : order) add(out, name, sums[name].first / sums[name].second, 0);
  if (mode == SessionMode::multi_request || mode == SessionMode::one_pass) {
    const double batches = run.turns.empty() ? 1.0 : static_cast<double>(std::max<int64_t>(1, run.turns[0].batches));
    add(out, "context_prefill_ms", run.context_prefill_ms / batches, 0);
  }
  add(out, "context_tokens", static_cast<double>(run.context_tokens), 0);
  return out;
}

}  // namespace seqbench
