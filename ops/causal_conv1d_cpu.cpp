#include <algorithm>
#include <vector>

#include "ops/causal_conv1d.h"
#include "ops/vector_ops.h"

namespace seqbench {
namespace {

constexpr int64_t kParallelWork = 1 << 15;
// Channels per block of the weight-gradient reduction: each block's sums are made by one thread
// in a fixed order, so the result does not depend on the thread count.
constexpr int64_t kChannelBlock = 32;

}  // namespace

void causal_conv1d_fwd_cpu(const float* in, int64_t in_stride, const float* w, const float* bias, float* out,
                           const Conv1dShape& s) {
  const int64_t rows = s.batch * s.seq_len, C = s.channels, K = s.kernel;
#pragma omp parallel for schedule(static) if (rows * C * K > kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t b = r / s.seq_len, t = r % s.seq_len;
    float* o = out + r * C;
    std::copy(bias, bias + C, o);
    for (int64_t j = std::max<int64_t>(0, K - 1 - t); j < K; ++j) {
      const float* w_j = w + j * C;
      const float* x = in + (b * s.seq_len + t - (K - 1) + j) * in_stride;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) o[c] += w_j[c] * x[c];
    }
  }
}

void causal_conv1d_bwd_cpu(const float* in, int64_t in_stride, const float* w, const float* dout, float* din,
                           int64_t din_stride, float* __restrict dw, float* __restrict dbias, const Conv1dShape& s) {
  const int64_t L = s.seq_len, rows = s.batch * L, C = s.channels, K = s.kernel;
  const bool parallel = rows * C * K > kParallelWork;
  // din[t] = sum_j w[j] dout[t + (K-1) - j], for the outputs that exist.
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t b = r / L, t = r % L;
    float* __restrict d = din + r * din_stride;
    fill_zero_cpu(d, C);
    for (int64_t j = std::max<int64_t>(0, t + K - L); j < K; ++j) {
      const float* g = dout + (b * L + t + (K - 1) - j) * C;
      const float* w_j = w + j * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) d[c] += w_j[c] * g[c];
    }
  }
  const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kChannelBlock, c1 = std::min(C, c0 + kChannelBlock);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t b = r / L, t = r % L;
      const float* g = dout + r * C;
#pragma omp simd
      for (int64_t c = c0; c < c1; ++c) dbias[c] += g[c];
      for (int64_t j = std::max<int64_t>(0, K - 1 - t); j < K; ++j) {
        const float* x = in + (b * L + t - (K - 1) + j) * in_stride;
        float* dw_j = dw + j * C;
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) dw_j[c] += g[c] * x[c];
      }
    }
  }
}

void causal_conv1d_final_state_cpu(const float* in, int64_t in_stride, float* state, const Conv1dShape& s) {
  const int64_t C = s.channels, K = s.kernel;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t j = 0; j < K - 1; ++j) {
      const int64_t t = s.seq_len - (K - 1) + j;  // state slot j holds input t
      float* dst = state + (b * (K - 1) + j) * C;
      if (t < 0)
        fill_zero_cpu(dst, C);
      else
        std::copy(in + (b * s.seq_len + t) * in_stride, in + (b * s.seq_len + t) * in_stride + C, dst);
    }
}

void causal_conv1d_decode_cpu(const float* in_t, int64_t in_stride, const float* w, const float* bias, float* state,
                              float* out_t, const Conv1dShape& s) {
  const int64_t C = s.channels, K = s.kernel;
  for (int64_t b = 0; b < s.batch; ++b) {
    const float* x = in_t + b * in_stride;
    float* st = state + b * (K - 1) * C;
    float* o = out_t + b * C;
    for (int64_t c = 0; c < C; ++c) o[c] = bias[c] + w[(K - 1) * C + c] * x[c];
    for (int64_t j = 0; j < K - 1; ++j)
      for (int64_t c = 0; c < C; ++c) o[c] += w[j * C + c] * st[j * C + c];
    if (K > 1) {
      std::copy(st + C, st + (K - 1) * C, st);
      std::copy(x, x + C, st + (K - 2) * C);
    }
  }
}

template <>
CausalConv1dKernels cpu_kernel_table<CausalConv1dKernels>{
    {}, causal_conv1d_fwd_cpu, causal_conv1d_bwd_cpu, causal_conv1d_final_state_cpu, causal_conv1d_decode_cpu};

}  // namespace seqbench
