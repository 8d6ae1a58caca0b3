#include "kernels/softmax_attention/softmax_attention_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/vector_ops.h"

namespace seqbench {
namespace {

// Keys are visited in blocks whose scores fit on the stack; the running max is updated once per
// block, as FlashAttention does per tile, so exp() never sees a large positive argument.
constexpr int64_t kKeyBlock = 64;
// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelWork = 1 << 14;

// One (batch, head) slice of q/k/v/out: token t starts at t * stride.
struct HeadSlice {
  int64_t offset, stride;
};

HeadSlice head_slice(int64_t bh, int64_t rows_per_batch, const AttentionShape& s) {
  const int64_t b = bh / s.heads, h = bh % s.heads, stride = s.heads * s.head_dim;
  return {b * rows_per_batch * stride + h * s.head_dim, stride};
}

bool worth_parallel(int64_t pairs, int64_t work) { return pairs > 1 && work > kParallelWork; }

// scores[j] = scale * q . k_j for j in [j0, j1), from keys transposed as kt[d * n + j].
void score_block_transposed(const float* q, const float* kt, int64_t n, int64_t dh, float scale, int64_t j0,
                            int64_t j1, float* scores) {
  fill_zero_cpu(scores, j1 - j0);
  for (int64_t d = 0; d < dh; ++d) axpy_cpu(q[d], kt + d * n + j0, scores, j1 - j0);
  scale_cpu(scale, scores, j1 - j0);
}

// Online softmax of one query row over n_keys keys, values `stride` floats apart. score_block(j0,
// j1, scores) fills the scaled scores of keys [j0, j1). Writes the normalised output row and
// returns the row's log-sum-exp.
template <class ScoreBlock>
float attend_row(ScoreBlock score_block, const float* v, int64_t n_keys, int64_t stride, int64_t dh, float* out) {
  float scores[kKeyBlock];
  float running_max = -std::numeric_limits<float>::infinity();
  float running_sum = 0.0f;
  fill_zero_cpu(out, dh);
  for (int64_t j0 = 0; j0 < n_keys; j0 += kKeyBlock) {
    const int64_t j1 = std::min(n_keys, j0 + kKeyBlock);
    score_block(j0, j1, scores);
    float block_max = running_max;
    for (int64_t j = 0; j < j1 - j0; ++j) block_max = std::max(block_max, scores[j]);
    if (j0 > 0 && block_max > running_max) {
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
  scale_cpu(1.0f / running_sum, out, dh);
  return running_max + std::log(running_sum);
}

}  // namespace

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
          score_block_transposed(q_i, kt.data(), L, dh, scale, j0, j1, out_scores);
        };
        lse[bh * L + i] = attend_row(scores, v + x.offset, i + 1, x.stride, dh, out + x.offset + i * x.stride);
      }
    }
  }
}

void softmax_attention_bwd_cpu(const float* q, const float* k, const float* v, const float* out,
                               const float* lse, const float* dout, float* dq, float* dk, float* dv,
                               const AttentionShape& s) {
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
        score_block_transposed(q_i, kt, L, dh, scale, 0, n, p);
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

void softmax_attention_decode_cpu(const float* q_t, const float* k_cache, const float* v_cache,
                                  int64_t len, float* out_t, const AttentionShape& cache) {
  const int64_t dh = cache.head_dim, pairs = cache.batch * cache.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
#pragma omp parallel for schedule(static) if (worth_parallel(pairs, pairs * len * dh))
  for (int64_t bh = 0; bh < pairs; ++bh) {
    // One query against the cache: keys are read in place (a transpose would cost as much as
    // the dot products it saves).
    const HeadSlice x = head_slice(bh, cache.seq_len, cache);
    const float* q = q_t + bh * dh;
    const float* keys = k_cache + x.offset;
    auto scores = [&](int64_t j0, int64_t j1, float* out_scores) {
      for (int64_t j = j0; j < j1; ++j) out_scores[j - j0] = dot_cpu(q, keys + j * x.stride, dh) * scale;
    };
    attend_row(scores, v_cache + x.offset, len, x.stride, dh, out_t + bh * dh);
  }
}

}  // namespace seqbench
