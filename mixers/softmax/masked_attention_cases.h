// Inputs and span tables shared by the masked attention tests: seeded (optionally dyadic) values,
// sink + window and block top-k tables computed by the CPU routines, span comparisons.
#pragma once
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "mixers/sliding_window/sink_window_spans.h"
#include "mixers/softmax/masked_attention.h"
#include "mixers/sparse/block_topk_spans.h"
#include "ops/rng.h"

namespace seqbench::masked_cases {

inline std::string describe(const AttentionShape& s) {
  std::ostringstream out;
  out << "B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " D=" << s.head_dim;
  return out.str();
}

inline int64_t elements(const AttentionShape& s) { return s.batch * s.seq_len * s.heads * s.head_dim; }
inline int64_t query_rows(const AttentionShape& s) { return s.batch * s.heads * s.seq_len; }

// Normal draws, or multiples of 1/4 in [-1, 1] (dyadic): with those every block mean and score is
// exact in fp32 whatever the summation order, so the GPU's rankings (exact ties included) must
// equal the CPU's bit for bit.
inline std::vector<float> random_values(int64_t n, Rng& rng, bool dyadic = false) {
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& x : out) x = dyadic ? static_cast<float>(rng.uniform_int(-4, 5)) / 4.0f : static_cast<float>(rng.normal());
  return out;
}

inline std::vector<KeySpan> sink_window_table(int64_t seq_len, int64_t sinks, int64_t window) {
  std::vector<KeySpan> spans(static_cast<size_t>(seq_len * kSinkWindowSpans));
  sink_window_sequence_spans(seq_len, sinks, window, spans.data());
  return spans;
}

// Block top-k spans of q, k on the CPU: [batch * heads, seq_len, selection.width(blocks)].
inline std::vector<KeySpan> block_topk_table(const std::vector<float>& q, const std::vector<float>& k,
                                             const AttentionShape& s, const BlockTopk& sel) {
  const int64_t blocks = s.seq_len / sel.block_size;
  std::vector<float> means(static_cast<size_t>(s.batch * blocks * s.heads * s.head_dim));
  BlockTopkKernels::cpu().key_means(k.data(), s, sel.block_size, 0, blocks, means.data(), blocks);
  std::vector<KeySpan> spans(static_cast<size_t>(query_rows(s) * sel.width(blocks)));
  BlockTopkKernels::cpu().sequence_spans(q.data(), means.data(), s, sel, spans.data());
  return spans;
}

inline bool same_spans(const std::vector<KeySpan>& a, const std::vector<KeySpan>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const KeySpan& x, const KeySpan& y) {
           return x.begin == y.begin && x.end == y.end;
         });
}

struct Inputs {
  std::vector<float> q, k, v, dout;
};

inline Inputs random_inputs(const AttentionShape& s, uint64_t seed, bool dyadic = false) {
  Rng rng(seed);
  const int64_t n = elements(s);
  Inputs in;
  in.q = random_values(n, rng, dyadic), in.k = random_values(n, rng, dyadic), in.v = random_values(n, rng, dyadic);
  in.dout = random_values(n, rng, dyadic);
  return in;
}

// The blocks a row of spans selects (all spans but the query's own block and the padding).
inline std::vector<int64_t> selected_blocks(const KeySpan* row, int64_t width, int64_t block_size) {
  std::vector<int64_t> blocks;
  for (int64_t i = 0; i + 1 < width && row[i + 1].end > row[i + 1].begin; ++i)
    blocks.push_back(row[i].begin / block_size);
  return blocks;
}

}  // namespace seqbench::masked_cases
