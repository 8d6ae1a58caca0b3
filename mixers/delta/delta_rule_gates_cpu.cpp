// L2 row normalisation, sigmoid and the Gated DeltaNet decay g = -exp(A_log) softplus(x + dt_bias), with
// exact backward passes; checked by finite differences in test_delta.cpp.
#include <algorithm>
#include <cmath>

#include "mixers/delta/delta_rule_gates.h"
#include "ops/vector_ops.h"

namespace seqbench {
namespace {

// log(1 + e^z) without overflow for large z or lost digits for very negative z.
float softplus(float z) { return std::max(z, 0.0f) + std::log1p(std::exp(-std::fabs(z))); }

float sigmoid(float z) {
  if (z >= 0.0f) return 1.0f / (1.0f + std::exp(-z));
  const float e = std::exp(z);
  return e / (1.0f + e);
}

}  // namespace

void l2_normalize_rows_fwd_cpu(const float* x, float* y, int64_t rows, int64_t width, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    float* yr = y + r * width;
    const float inv = 1.0f / std::sqrt(dot_cpu(xr, xr, width) + eps);
    for (int64_t j = 0; j < width; ++j) yr[j] = xr[j] * inv;
  }
}

void l2_normalize_rows_bwd_cpu(const float* x, const float* dy, float* dx, int64_t rows, int64_t width, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    const float* dyr = dy + r * width;
    float* dxr = dx + r * width;
    const float inv = 1.0f / std::sqrt(dot_cpu(xr, xr, width) + eps);
    // y . dy = inv (x . dy), so dx = inv dy - inv^3 (x . dy) x.
    const float proj = inv * inv * inv * dot_cpu(xr, dyr, width);
    for (int64_t j = 0; j < width; ++j) dxr[j] = inv * dyr[j] - proj * xr[j];
  }
}

void sigmoid_fwd_cpu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
}

void sigmoid_bwd_cpu(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

void gated_decay_fwd_cpu(const float* x, const float* a_log, const float* dt_bias, float* log_decay, int64_t rows,
                         int64_t heads) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t h = 0; h < heads; ++h)
      log_decay[r * heads + h] = -std::exp(a_log[h]) * softplus(x[r * heads + h] + dt_bias[h]);
}

void gated_decay_bwd_cpu(const float* x, const float* a_log, const float* dt_bias, const float* dlog_decay, float* dx,
                         float* da_log, float* ddt_bias, int64_t rows, int64_t heads) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t i = r * heads + h;
      const float z = x[i] + dt_bias[h], a = std::exp(a_log[h]);
      // dg/dz = -a sigmoid(z); dg/dA_log = g itself.
      const float dz = -dlog_decay[i] * a * sigmoid(z);
      dx[i] = dz;
      ddt_bias[h] += dz;
      da_log[h] += dlog_decay[i] * (-a * softplus(z));
    }
}

template <>
DeltaRuleGateKernels cpu_kernel_table<DeltaRuleGateKernels>{{},
                                                            l2_normalize_rows_fwd_cpu,
                                                            l2_normalize_rows_bwd_cpu,
                                                            sigmoid_fwd_cpu,
                                                            sigmoid_bwd_cpu,
                                                            gated_decay_fwd_cpu,
                                                            gated_decay_bwd_cpu};

}  // namespace seqbench
