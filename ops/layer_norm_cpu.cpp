#include <cmath>

#include "ops/layer_norm.h"

namespace seqbench {

void layer_norm_fwd_cpu(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t dim, float eps) {
#pragma omp parallel for schedule(static) if (rows * dim > 16384)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    double sum = 0;
    for (int64_t i = 0; i < dim; ++i) sum += xr[i];
    const float mu = static_cast<float>(sum / dim);
    double var = 0;
    for (int64_t i = 0; i < dim; ++i) var += (xr[i] - mu) * (xr[i] - mu);
    const float rs = 1.0f / std::sqrt(static_cast<float>(var / dim) + eps);
    for (int64_t i = 0; i < dim; ++i) yr[i] = (xr[i] - mu) * rs * gamma[i] + beta[i];
    mean[r] = mu;
    rstd[r] = rs;
  }
}

void layer_norm_bwd_cpu(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd,
                        float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t dim) {
#pragma omp parallel for schedule(static) if (rows * dim > 16384)
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * dim;
    const float* xr = x + r * dim;
    float* dxr = dx + r * dim;
    // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma
    float mean_g = 0, mean_gx = 0;
    for (int64_t i = 0; i < dim; ++i) {
      const float xhat = (xr[i] - mean[r]) * rstd[r];
      const float g = dyr[i] * gamma[i];
      mean_g += g;
      mean_gx += g * xhat;
    }
    mean_g /= dim;
    mean_gx /= dim;
    for (int64_t i = 0; i < dim; ++i) {
      const float xhat = (xr[i] - mean[r]) * rstd[r];
      dxr[i] = rstd[r] * (dyr[i] * gamma[i] - mean_g - xhat * mean_gx);
    }
  }
  // Parameter gradients sum over rows; done serially in row order so the sum is deterministic.
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * dim;
    const float* xr = x + r * dim;
    for (int64_t i = 0; i < dim; ++i) {
      dgamma[i] += dyr[i] * (xr[i] - mean[r]) * rstd[r];
      dbeta[i] += dyr[i];
    }
  }
}

template <>
LayerNormKernels cpu_kernel_table<LayerNormKernels>{{}, layer_norm_fwd_cpu, layer_norm_bwd_cpu};

}  // namespace seqbench
