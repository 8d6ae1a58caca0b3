// Softmax attention over per-query key spans: online softmax across the spans in forward and
// decode, probabilities rebuilt from the log-sum-exp in backward (FlashAttention-2, Alg. 1-2).
// Checked against a naive masked reference in tests/test_sliding_window.cpp.
#include "kernels/masked_attention/masked_attention_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/vector_ops.h"

namespace seqbench {
namespace {

// Scores of at most this many keys live on the stack at a time; the running max is updated once
// per block, as FlashAttention does per tile, so exp() never sees a large positive argument.
constexpr int64_t kKeyBlock = 64;
// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelWork = 1 << 14;

bool worth_parallel(int64_t pairs, int64_t work) { return pairs > 1 && work > kParallelWork; }

// One (batch, head) slice of a [batch, rows, heads, head_dim] tensor: row t starts at t * stride.
struct HeadSlice {
  int64_t offset, stride;
};

HeadSlice head_slice(int64_t bh, int64_t rows_per_batch, const AttentionShape& s) {
  const int64_t b = bh / s.heads, h = bh % s.heads, stride = s.heads * s.head_dim;
  return {b * rows_per_batch * stride + h * s.head_dim, stride};
}

int64_t span_keys(const KeySpan* spans, int64_t width) {
  int64_t n = 0;
  for (int64_t s = 0; s < width; ++s) n += spans[s].size();
  return n;
}

// x[t * stride + d] for t < n  ->  xt[d * n + t]: one feature of every token side by side, so a
// run of scores q.k_j is a sum of axpys over d, vectorised over j.
void transpose_tokens(const float* x, int64_t n, int64_t stride, int64_t dh, float* xt) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t d = 0; d < dh; ++d) xt[d * n + t] = x[t * stride + d];
}

// scores[j - j0] = scale * q . k_j for j in [j0, j1), from keys transposed as kt[d * n + j].
void score_run_transposed(const float* q, const float* kt, int64_t n, int64_t dh, float scale, int64_t j0,
                          int64_t j1, float* scores) {
  fill_zero_cpu(scores, j1 - j0);
  for (int64_t d = 0; d < dh; ++d) axpy_cpu(q[d], kt + d * n + j0, scores, j1 - j0);
  scale_cpu(scale, scores, j1 - j0);
}

// Online softmax of one query over the keys of its spans, values `stride` floats apart.
// score_run(j0, j1, scores) fills the scaled scores of keys [j0, j1). Writes the normalised
// output row and returns its log-sum-exp.
template <class ScoreRun>
float attend_spans(ScoreRun score_run, const KeySpan* spans, int64_t width, const float* v, int64_t stride,
                   int64_t dh, float* out) {
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

}  // namespace

void masked_attention_fwd_cpu(const float* q, const float* k, const float* v, float* out, float* lse,
                              const SpanTable& keys, const AttentionShape& s) {
  const int64_t L = s.seq_len, dh = s.head_dim, pairs = s.batch * s.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
#pragma omp parallel if (worth_parallel(pairs, pairs * L * L * dh))
  {
    std::vector<float> kt(static_cast<size_t>(dh * L));
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const HeadSlice x = head_slice(bh, L, s);
      transpose_tokens(k + x.offset, L, x.stride, dh, kt.data());
      for (int64_t i = 0; i < L; ++i) {
        const float* q_i = q + x.offset + i * x.stride;
        auto scores = [&](int64_t j0, int64_t j1, float* out_scores) {
          score_run_transposed(q_i, kt.data(), L, dh, scale, j0, j1, out_scores);
        };
        lse[bh * L + i] = attend_spans(scores, keys.row(bh, i, L), keys.width, v + x.offset, x.stride, dh,
                                       out + x.offset + i * x.stride);
      }
    }
  }
}

void masked_attention_bwd_cpu(const float* q, const float* k, const float* v, const float* lse,
                              const float* dout, float* dq, float* dk, float* dv,
                              const SpanTable& keys, const AttentionShape& s) {
  const int64_t L = s.seq_len, dh = s.head_dim, pairs = s.batch * s.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
#pragma omp parallel if (worth_parallel(pairs, pairs * L * L * dh))
  {
    // Keys and values transposed, and one query's probabilities / score gradients, its spans
    // laid end to end (disjoint spans hold at most L keys).
    std::vector<float> scratch(static_cast<size_t>(2 * dh * L + 2 * L));
    float* kt = scratch.data();
    float* vt = kt + dh * L;
    float* p = vt + dh * L;
    float* ds = p + L;
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const HeadSlice x = head_slice(bh, L, s);
      transpose_tokens(k + x.offset, L, x.stride, dh, kt);
      transpose_tokens(v + x.offset, L, x.stride, dh, vt);
      for (int64_t t = 0; t < L; ++t) {
        fill_zero_cpu(dk + x.offset + t * x.stride, dh);
        fill_zero_cpu(dv + x.offset + t * x.stride, dh);
      }
      for (int64_t i = 0; i < L; ++i) {
        const int64_t row_i = x.offset + i * x.stride;
        const float* q_i = q + row_i;
        const float* dout_i = dout + row_i;
        const KeySpan* spans = keys.row(bh, i, L);
        // P_ij = exp(S_ij - lse_i) and dP_ij = dout_i . v_j for the query's keys, span by span.
        int64_t n = 0;
        for (int64_t sp = 0; sp < keys.width; ++sp) {
          const int64_t j0 = spans[sp].begin, len = spans[sp].size();
          score_run_transposed(q_i, kt, L, dh, scale, j0, j0 + len, p + n);
          fill_zero_cpu(ds + n, len);
          for (int64_t d = 0; d < dh; ++d) axpy_cpu(dout_i[d], vt + d * L + j0, ds + n, len);
          n += len;
        }
        const float row_lse = lse[bh * L + i];
        for (int64_t j = 0; j < n; ++j) p[j] = std::exp(p[j] - row_lse);
        // dS_ij = P_ij (dP_ij - D_i) with D_i = sum_j P_ij dP_ij (= dout_i . out_i): summed from the
        // same dP_ij it is subtracted from, so a query with a single key (window 1) gets dS = 0
        // exactly, as its q and k have no gradient. The 1/sqrt(Dh) of S is folded in here.
        const float d_i = dot_cpu(p, ds, n);
        for (int64_t j = 0; j < n; ++j) ds[j] = p[j] * (ds[j] - d_i) * scale;
        float* dq_i = dq + row_i;
        fill_zero_cpu(dq_i, dh);
        int64_t slot = 0;
        for (int64_t sp = 0; sp < keys.width; ++sp)
          for (int64_t j = spans[sp].begin; j < spans[sp].end; ++j, ++slot) {
            const int64_t row_j = x.offset + j * x.stride;
            axpy_cpu(ds[slot], k + row_j, dq_i, dh);
            axpy_cpu(ds[slot], q_i, dk + row_j, dh);
            axpy_cpu(p[slot], dout_i, dv + row_j, dh);
          }
      }
    }
  }
}

void masked_attention_decode_cpu(const float* q_t, const float* k_cache, const float* v_cache, float* out_t,
                                 const SpanTable& keys, const AttentionShape& cache) {
  const int64_t dh = cache.head_dim, pairs = cache.batch * cache.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const int64_t keys_per_query = span_keys(keys.row(0, 0, 1), keys.width);
#pragma omp parallel for schedule(static) if (worth_parallel(pairs, pairs * keys_per_query * dh))
  for (int64_t bh = 0; bh < pairs; ++bh) {
    // One query against the cache: keys are read in place (a transpose would cost as much as
    // the dot products it saves).
    const HeadSlice x = head_slice(bh, cache.seq_len, cache);
    const float* q = q_t + bh * dh;
    const float* slots = k_cache + x.offset;
    auto scores = [&](int64_t j0, int64_t j1, float* out_scores) {
      for (int64_t j = j0; j < j1; ++j) out_scores[j - j0] = dot_cpu(q, slots + j * x.stride, dh) * scale;
    };
    attend_spans(scores, keys.row(bh, 0, 1), keys.width, v_cache + x.offset, x.stride, dh, out_t + bh * dh);
  }
}

}  // namespace seqbench
