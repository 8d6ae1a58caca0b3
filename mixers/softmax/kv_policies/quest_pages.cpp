// Quest page bounds and page selection (quest_pages.h).
#include "mixers/softmax/kv_policies/quest_pages.h"

#include <algorithm>
#include <limits>

#include "mixers/softmax/kv_policies/eviction_rules.h"

namespace seqbench {

int64_t QuestSettings::pages_read(int64_t pages) const {
  return std::min(std::max<int64_t>(3, budget / page_size), pages);
}

void PageBounds::clear() {
  tokens = 0;
  min.clear();
  max.clear();
}

void PageBounds::add_key(const float* key) {
  if (tokens % page_size == 0) {
    min.insert(min.end(), key, key + head_dim);
    max.insert(max.end(), key, key + head_dim);
  } else {
    float* lo = min.data() + (tokens / page_size) * head_dim;
    float* hi = max.data() + (tokens / page_size) * head_dim;
    for (int64_t d = 0; d < head_dim; ++d) {
      lo[d] = std::min(lo[d], key[d]);
      hi[d] = std::max(hi[d], key[d]);
    }
  }
  ++tokens;
}

float PageBounds::upper_bound(const float* q, int64_t p) const {
  const float* lo = min.data() + p * head_dim;
  const float* hi = max.data() + p * head_dim;
  float bound = 0.0f;
  for (int64_t d = 0; d < head_dim; ++d) bound += std::max(q[d] * lo[d], q[d] * hi[d]);
  return bound;
}

std::vector<KeySpan> quest_page_spans(const PageBounds& bounds, const float* q, const QuestSettings& settings) {
  const int64_t pages = bounds.pages(), read = settings.pages_read(pages);
  std::vector<float> scores(static_cast<size_t>(pages));
  for (int64_t p = 0; p < pages; ++p) scores[p] = bounds.upper_bound(q, p);
  std::vector<KeySpan> spans;
  for (int32_t p : top_k_ascending(scores, read))
    spans.push_back({static_cast<int32_t>(p * bounds.page_size),
                     static_cast<int32_t>(std::min((p + 1) * bounds.page_size, bounds.tokens))});
  spans.resize(static_cast<size_t>(read));  // pages_read never exceeds pages; kept for a fixed width
  return spans;
}

}  // namespace seqbench
