// Eviction rules of StreamingLLM, H2O, SnapKV and PyramidKV (eviction_rules.h).
#include "mixers/softmax/kv_policies/eviction_rules.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace seqbench {
namespace {

std::vector<int32_t> all_slots(int64_t used) {
  std::vector<int32_t> slots(static_cast<size_t>(used));
  std::iota(slots.begin(), slots.end(), 0);
  return slots;
}

void append_range(std::vector<int32_t>& slots, int64_t begin, int64_t end) {
  for (int64_t s = begin; s < end; ++s) slots.push_back(static_cast<int32_t>(s));
}

// SnapKV's selection with `prefix_keep` ranked tokens before the window of `window`.
std::vector<int32_t> ranked_prefix_and_window(int64_t used, const float* mass, int64_t prefix_keep, int64_t window,
                                              int64_t kernel, Pooling pooling) {
  const int64_t prefix = used - window;
  std::vector<int32_t> kept = top_k_ascending(pool_scores(mass, prefix, kernel, pooling), prefix_keep);
  append_range(kept, prefix, used);
  return kept;
}

}  // namespace

std::vector<int32_t> streaming_llm_keep(int64_t used, int64_t budget, int64_t sinks) {
  if (used <= budget) return all_slots(used);
  std::vector<int32_t> kept;
  append_range(kept, 0, sinks);
  append_range(kept, used - (budget - sinks), used);
  return kept;
}

std::vector<int32_t> h2o_keep(int64_t used, const float* mass, int64_t budget, int64_t recent) {
  if (used <= budget) return all_slots(used);
  const int64_t older = used - recent;
  std::vector<int32_t> kept = top_k_ascending(std::vector<float>(mass, mass + older), budget - recent);
  append_range(kept, older, used);
  return kept;
}

std::vector<float> pool_scores(const float* mass, int64_t n, int64_t kernel, Pooling pooling) {
  const int64_t half = kernel / 2;
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    float acc = pooling == Pooling::avg ? 0.0f : -std::numeric_limits<float>::infinity();
    for (int64_t j = std::max<int64_t>(0, i - half); j <= std::min(n - 1, i + half); ++j)
      acc = pooling == Pooling::avg ? acc + mass[j] : std::max(acc, mass[j]);
    out[i] = pooling == Pooling::avg ? acc / static_cast<float>(kernel) : acc;
  }
  return out;
}

std::vector<int32_t> top_k_ascending(const std::vector<float>& scores, int64_t k) {
  std::vector<int32_t> order = all_slots(static_cast<int64_t>(scores.size()));
  k = std::min<int64_t>(k, static_cast<int64_t>(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int32_t a, int32_t b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); });
  order.resize(static_cast<size_t>(k));
  std::sort(order.begin(), order.end());
  return order;
}

std::vector<int32_t> snapkv_keep(int64_t used, const float* mass, int64_t budget, int64_t window, int64_t kernel,
                                 Pooling pooling) {
  if (used < budget) return all_slots(used);
  return ranked_prefix_and_window(used, mass, budget - window, window, kernel, pooling);
}

int64_t pyramidkv_prefix_budget(int64_t used, int64_t budget, int64_t window, int64_t beta, int layer, int layers) {
  const int64_t uniform = budget - window;
  if (layers < 2 || used < 2 * uniform) return uniform;
  int64_t min_num = uniform / beta, max_num = 2 * uniform - min_num;
  if (max_num >= used - window) {
    max_num = used - window;
    min_num = 2 * uniform - max_num;
  }
  const int64_t steps = (max_num - min_num) / (layers - 1);
  return max_num - layer * steps;
}

std::vector<int32_t> pyramidkv_keep(int64_t used, const float* mass, int64_t budget, int64_t window, int64_t kernel,
                                    Pooling pooling, int64_t beta, int layer, int layers) {
  if (used < budget) return all_slots(used);
  return ranked_prefix_and_window(used, mass, pyramidkv_prefix_budget(used, budget, window, beta, layer, layers),
                                  window, kernel, pooling);
}

}  // namespace seqbench
