// Causal softmax attention on the CPU: the online-softmax row loop of online_softmax_cpu.h over the
// span [0, i] of each query; checked against a plain two-pass reference in tests/test_softmax_attention.cpp.
#include "kernels/softmax_attention/softmax_attention_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/masked_attention/online_softmax_cpu.h"

namespace seqbench {

using namespace attention_rows;

void softmax_attention_fwd_cpu(const float* q, const float* k, const float* v, float* out, float* lse,
                               const AttentionShape& s) {
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
        const KeySpan causal{0, static_cast<int32_t>(i + 1)};
        lse[bh * L + i] = attend_spans(scores, &causal, 1, v + x.offset, x.stride, dh, out + x.offset + i * x.stride);
      }
    }
  }
}

void softmax_attention_bwd_cpu(const float* q, const float* k, const float* v, const float* out, const float* lse,
                               const float* dout, float* dq, float* dk, float* dv, const AttentionShape& s) {
  const int64_t L = s.seq_len, dh = s.head_dim, pairs = s.batch * s.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
#pragma omp parallel if (worth_parallel(pairs, pairs * L * L * dh))
  {
    // Keys and values transposed ([d][t]) so a row of scores and of dP is a sum of axpys
    // vectorised over keys; one row of probabilities and of score gradients.
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
        const int64_t n = i + 1;
        // P_ij = exp(S_ij - lse_i): the forward's probabilities, rebuilt without a second softmax.
        score_run_transposed(q_i, kt, L, dh, scale, 0, n, p);
        const float row_lse = lse[bh * L + i];
        for (int64_t j = 0; j < n; ++j) p[j] = std::exp(p[j] - row_lse);
        // dS_ij = P_ij (dP_ij - D_i), dP_ij = dout_i . v_j, D_i = dout_i . out_i; the
        // 1/sqrt(Dh) of S = scale * QK^T is folded in here.
        fill_zero_cpu(ds, n);
        for (int64_t d = 0; d < dh; ++d) axpy_cpu(dout_i[d], vt + d * L, ds, n);
        const float d_i = dot_cpu(dout_i, out + row_i, dh);
        for (int64_t j = 0; j < n; ++j) ds[j] = p[j] * (ds[j] - d_i) * scale;
        // dq_i = sum_j dS_ij k_j; dk_j += dS_ij q_i; dv_j += P_ij dout_i (rows of length Dh).
        float* dq_i = dq + row_i;
        fill_zero_cpu(dq_i, dh);
        for (int64_t j = 0; j < n; ++j) {
          const int64_t row_j = x.offset + j * x.stride;
          axpy_cpu(ds[j], k + row_j, dq_i, dh);
          axpy_cpu(ds[j], q_i, dk + row_j, dh);
          axpy_cpu(p[j], dout_i, dv + row_j, dh);
        }
      }
    }
  }
}

void softmax_attention_decode_cpu(const float* q_t, const float* k_cache, const float* v_cache, int64_t len,
                                  float* out_t, const AttentionShape& cache) {
  const int64_t dh = cache.head_dim, pairs = cache.batch * cache.heads;
#pragma omp parallel for schedule(static) if (worth_parallel(pairs, pairs * len * dh))
  for (int64_t bh = 0; bh < pairs; ++bh) {
    const HeadSlice x = head_slice(bh, cache.seq_len, cache);
    const KeySpan cached{0, static_cast<int32_t>(len)};
    attend_cache(q_t + bh * dh, k_cache + x.offset, v_cache + x.offset, x.stride, dh, &cached, 1, out_t + bh * dh);
  }
}

}  // namespace seqbench
