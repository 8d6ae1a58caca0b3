// Softmax attention over per-query key spans: online softmax across the spans in forward and
// decode, probabilities rebuilt from the log-sum-exp in backward (FlashAttention-2, Alg. 1-2).
// Checked against a naive masked reference in mixers/sliding_window/test_sliding_window.cpp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/online_softmax_cpu.h"

namespace seqbench {
namespace {

using namespace attention_rows;

int64_t span_keys(const KeySpan* spans, int64_t width) {
  int64_t n = 0;
  for (int64_t s = 0; s < width; ++s) n += spans[s].size();
  return n;
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
      transpose_tokens_cpu(k + x.offset, L, x.stride, dh, kt.data());
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

void attention_rows::attention_bwd_rows(const float* q, const float* k, const float* v, const float* out,
                                        const float* lse, const float* dout, float* dq, float* dk, float* dv,
                                        const SpanTable& keys, const AttentionShape& s) {
  const int64_t L = s.seq_len, dh = s.head_dim, pairs = s.batch * s.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
#pragma omp parallel if (worth_parallel(pairs, pairs * L * L * dh))
  {
    // Keys and values transposed ([d][t]) so a run of scores and of dP is a sum of axpys
    // vectorised over keys; one query's probabilities and score gradients, its spans laid end to
    // end (disjoint spans hold at most L keys).
    std::vector<float> scratch(static_cast<size_t>(2 * dh * L + 2 * L));
    float* kt = scratch.data();
    float* vt = kt + dh * L;
    float* p = vt + dh * L;
    float* ds = p + L;
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const HeadSlice x = head_slice(bh, L, s);
      transpose_tokens_cpu(k + x.offset, L, x.stride, dh, kt);
      transpose_tokens_cpu(v + x.offset, L, x.stride, dh, vt);
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
        const float d_i = out ? dot_cpu(dout_i, out + row_i, dh) : dot_cpu(p, ds, n);
        for (int64_t j = 0; j < n; ++j) ds[j] = p[j] * (ds[j] - d_i) * scale;
        // dq_i = sum_j dS_ij k_j; dk_j += dS_ij q_i; dv_j += P_ij dout_i (rows of length Dh).
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

void masked_attention_bwd_cpu(const float* q, const float* k, const float* v, const float* lse, const float* dout,
                              float* dq, float* dk, float* dv, const SpanTable& keys, const AttentionShape& s) {
  // No forward output here: D_i is summed from the probabilities.
  attention_bwd_rows(q, k, v, nullptr, lse, dout, dq, dk, dv, keys, s);
}

void masked_attention_decode_cpu(const float* q_t, const float* k_cache, const float* v_cache, float* out_t,
                                 const SpanTable& keys, const AttentionShape& cache) {
  const int64_t dh = cache.head_dim, pairs = cache.batch * cache.heads;
  const int64_t keys_per_query = span_keys(keys.row(0, 0, 1), keys.width);
#pragma omp parallel for schedule(static) if (worth_parallel(pairs, pairs * keys_per_query * dh))
  for (int64_t bh = 0; bh < pairs; ++bh) {
    const HeadSlice x = head_slice(bh, cache.seq_len, cache);
    attend_cache(q_t + bh * dh, k_cache + x.offset, v_cache + x.offset, x.stride, dh, keys.row(bh, 0, 1), keys.width,
                 out_t + bh * dh);
  }
}

template <>
MaskedAttentionKernels cpu_kernel_table<MaskedAttentionKernels>{{},
                                                                masked_attention_fwd_cpu,
                                                                masked_attention_bwd_cpu,
                                                                masked_attention_decode_cpu,
                                                                no_shape_limits<AttentionShape>};

}  // namespace seqbench
