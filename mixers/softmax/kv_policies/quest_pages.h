// Quest (Tang et al. 2024, "Quest: Query-Aware Sparsity for Efficient Long-Context LLM Inference",
// Sec. 3; MInference minference/modules/quest.py): the whole KV cache is kept, in pages of
// page_size tokens with each page's per-channel min and max key; a decoding query reads only the
// pages whose upper bound sum_d max(q_d min_d, q_d max_d) on q . k is largest,
// min(max(3, budget / page_size), pages) of them (quest.py's local_heavy_hitter_mask). The bounds
// are kept on the host and updated as keys arrive. Checked against hand-computed pages in
// tests/test_kv_policies.cpp.
#pragma once
#include <cstdint>
#include <vector>

#include "mixers/softmax/masked_attention.h"  // KeySpan

namespace seqbench {

struct QuestSettings {
  int64_t budget = 64;  // tokens a query reads
  int64_t page_size = 8;
  int64_t pages_read(int64_t pages) const;
};

// Per-channel min and max of each page of one (batch, head) row: [pages][head_dim] each.
struct PageBounds {
  int64_t page_size = 8, head_dim = 0, tokens = 0;
  std::vector<float> min, max;

  void clear();
  // Folds in the key of the next token (head_dim floats).
  void add_key(const float* key);
  int64_t pages() const { return (tokens + page_size - 1) / page_size; }
  // Upper bound of q . k over page p's keys.
  float upper_bound(const float* q, int64_t p) const;
};

// The pages query q reads, as spans of token slots in page order, padded with empty spans to
// settings.pages_read(bounds.pages()) entries.
std::vector<KeySpan> quest_page_spans(const PageBounds& bounds, const float* q, const QuestSettings& settings);

}  // namespace seqbench
