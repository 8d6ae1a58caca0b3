// The row loop both CPU attention kernels share: scores of one query against a run of keys, and
// FlashAttention-2's online softmax (Dao 2023, Alg. 1) over a query's key spans, one block of
// scores at a time. Causal softmax attention is the case of one span [0, i]. Checked through
// test_softmax_attention.cpp and mixers/sliding_window/test_sliding_window.cpp.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "mixers/softmax/masked_attention.h"
#include "ops/vector_ops.h"

namespace seqbench {
namespace attention_rows {

// Scores of at most this many keys live on the stack at a time; the running max is updated once
// per block, as FlashAttention does per tile, so exp() never sees a large positive argument.
constexpr int64_t kKeyBlock = 64;
// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelWork = 1 << 14;

inline bool worth_parallel(int64_t pairs, int64_t work) { return pairs > 1 && work > kParallelWork; }

// One (batch, head) slice of a [batch, rows, heads, head_dim] tensor: row t starts at t * stride.
struct HeadSlice {
  int64_t offset, stride;
};

inline HeadSlice head_slice(int64_t bh, int64_t rows_per_batch, const AttentionShape& s) {
  const int64_t b = bh / s.heads, h = bh % s.heads, stride = s.heads * s.head_dim;
  return {b * rows_per_batch * stride + h * s.head_dim, stride};
}

// scores[j - j0] = scale * q . k_j for j in [j0, j1), from keys transposed as kt[d * n + j]: a sum
// of axpys over d, vectorised over keys.
inline void score_run_transposed(const float* q, const float* kt, int64_t n, int64_t dh, float scale, int64_t j0,
                                 int64_t j1, float* scores) {
  fill_zero_cpu(scores, j1 - j0);
  for (int64_t d = 0; d < dh; ++d) axpy_cpu(q[d], kt + d * n + j0, scores, j1 - j0);
  scale_cpu(scale, scores, j1 - j0);
}

// Online softmax of one query over the keys of its spans, values `stride` floats apart.
// score_run(j0, j1, scores) fills the scaled scores of keys [j0, j1). Writes the normalised
// output row and returns its log-sum-exp.
template <class ScoreRun>
float attend_spans(ScoreRun score_run, const KeySpan* spans, int64_t width, const float* v, int64_t stride, int64_t dh,
                   float* out) {
  float scores[kKeyBlock];
  float running_max = -std::numeric_limits<float>::infinity();
  float running_sum = 0.0f;
  fill_zero_cpu(out, dh);
  for (int64_t s = 0; s < width; ++s) {
    for (int64_t j0 = spans[s].begin; j0 < spans[s].end; j0 += kKeyBlock) {
      const int64_t j1 = std::min<int64_t>(spans[s].end, j0 + kKeyBlock);
      score_run(j0, j1, scores);
      float block_max = running_max;
      for (int64_t j = 0; j < j1 - j0; ++j) block_max = std::max(block_max, scores[j]);
      if (running_sum > 0.0f && block_max > running_max) {
        const float correction = std::exp(running_max - block_max);
        running_sum *= correction;
        scale_cpu(correction, out, dh);
      }
      running_max = block_max;
      for (int64_t j = j0; j < j1; ++j) {
        const float p = std::exp(scores[j - j0] - running_max);
        running_sum += p;
        axpy_cpu(p, v + j * stride, out, dh);
      }
    }
  }
  scale_cpu(1.0f / running_sum, out, dh);
  return running_max + std::log(running_sum);
}

// Backward of masked_attention_fwd_cpu over a span table: probabilities rebuilt from lse,
// dS_ij = P_ij (dP_ij - D_i) with the 1/sqrt(Dh) of S folded in; dq, dk, dv overwritten.
// D_i = rowsum(P_i * dP_i) is dout_i . out_i when `out` is given (FlashAttention-2), else it is
// summed from the same dP_ij it is subtracted from, so a query with a single key (window 1) gets
// dS = 0 exactly. Defined in masked_attention_cpu.cpp.
void attention_bwd_rows(const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, const SpanTable& keys,
                        const AttentionShape& s);

// One decode query q [dh] against cache rows `stride` floats apart: keys are read in place (a
// transpose would cost as much as the dot products it saves).
inline void attend_cache(const float* q, const float* keys, const float* values, int64_t stride, int64_t dh,
                         const KeySpan* spans, int64_t width, float* out) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  auto scores = [&](int64_t j0, int64_t j1, float* out_scores) {
    for (int64_t j = j0; j < j1; ++j) out_scores[j - j0] = dot_cpu(q, keys + j * stride, dh) * scale;
  };
  attend_spans(scores, spans, width, values, stride, dh, out);
}

}  // namespace attention_rows
}  // namespace seqbench
