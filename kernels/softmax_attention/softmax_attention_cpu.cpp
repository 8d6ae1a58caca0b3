#include "kernels/softmax_attention/softmax_attention_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/vector_ops.h"

namespace seqbench {
namespace {

// Keys are visited in blocks whose scores fit on the stack; the running max is updated once per
// block, as FlashAttention does per tile, so exp() never sees a large positive argument.
constexpr int64_t kKeyBlock = 64;
// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelWork = 1 << 14;

// Online softmax of one query row over n_keys keys (token stride `stride` floats apart). Writes
// the normalised output row and returns the row's log-sum-exp of the scaled scores.
float attend_row(const float* q, const float* k, const float* v, int64_t n_keys, int64_t stride,
                 int64_t dh, float scale, float* out) {
  float scores[kKeyBlock];
  float running_max = -std::numeric_limits<float>::infinity();
  float running_sum = 0.0f;
  fill_zero_cpu(out, dh);
  for (int64_t j0 = 0; j0 < n_keys; j0 += kKeyBlock) {
    const int64_t j1 = std::min(n_keys, j0 + kKeyBlock);
    float block_max = running_max;
    for (int64_t j = j0; j < j1; ++j) {
      const float s = dot_cpu(q, k + j * stride, dh) * scale;
      scores[j - j0] = s;
      block_max = std::max(block_max, s);
    }
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
  const int64_t L = s.seq_len, H = s.heads, dh = s.head_dim, stride = H * dh;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const int64_t pairs = s.batch * H;
  const bool parallel = pairs > 1 && s.batch * H * L * L * dh > kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t bh = 0; bh < pairs; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    const int64_t base = b * L * stride + h * dh;
    for (int64_t i = 0; i < L; ++i) {
      const int64_t row = base + i * stride;
      lse[bh * L + i] = attend_row(q + row, k + base, v + base, i + 1, stride, dh, scale, out + row);
    }
  }
}

void softmax_attention_bwd_cpu(const float* q, const float* k, const float* v, const float* out,
                               const float* lse, const float* dout, float* dq, float* dk, float* dv,
                               const AttentionShape& s) {
  const int64_t L = s.seq_len, H = s.heads, dh = s.head_dim, stride = H * dh;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const int64_t pairs = s.batch * H;
  const bool parallel = pairs > 1 && s.batch * H * L * L * dh > kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t bh = 0; bh < pairs; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    const int64_t base = b * L * stride + h * dh;
    for (int64_t i = 0; i < L; ++i) {
      fill_zero_cpu(dq + base + i * stride, dh);
      fill_zero_cpu(dk + base + i * stride, dh);
      fill_zero_cpu(dv + base + i * stride, dh);
    }
    for (int64_t i = 0; i < L; ++i) {
      const int64_t row_i = base + i * stride;
      const float* q_i = q + row_i;
      const float* dout_i = dout + row_i;
      const float row_lse = lse[bh * L + i];
      const float d_i = dot_cpu(dout_i, out + row_i, dh);
      for (int64_t j = 0; j <= i; ++j) {
        const int64_t row_j = base + j * stride;
        const float p = std::exp(dot_cpu(q_i, k + row_j, dh) * scale - row_lse);
        axpy_cpu(p, dout_i, dv + row_j, dh);
        // dS_ij = P_ij (dP_ij - D_i); the 1/sqrt(Dh) of S = scale * QK^T is folded in here.
        const float ds = p * (dot_cpu(dout_i, v + row_j, dh) - d_i) * scale;
        axpy_cpu(ds, k + row_j, dq + row_i, dh);
        axpy_cpu(ds, q_i, dk + row_j, dh);
      }
    }
  }
}

void softmax_attention_decode_cpu(const float* q_t, const float* k_cache, const float* v_cache,
                                  int64_t len, float* out_t, const AttentionShape& cache) {
  const int64_t H = cache.heads, dh = cache.head_dim, stride = H * dh;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const int64_t pairs = cache.batch * H;
  const bool parallel = pairs > 1 && pairs * len * dh > kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t bh = 0; bh < pairs; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    const int64_t base = b * cache.seq_len * stride + h * dh;
    attend_row(q_t + bh * dh, k_cache + base, v_cache + base, len, stride, dh, scale, out_t + bh * dh);
  }
}

}  // namespace seqbench
