#include "ops/adamw.h"

#include <cmath>

namespace seqbench {

void adamw_update_cpu(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWHyper& h) {
  const float bc1 = 1.0f - std::pow(h.beta1, static_cast<float>(h.step));
  const float bc2 = 1.0f - std::pow(h.beta2, static_cast<float>(h.step));
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    m[i] = h.beta1 * m[i] + (1.0f - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1.0f - h.beta2) * g * g;
    const float m_hat = m[i] / bc1;
    const float v_hat = v[i] / bc2;
    param[i] -= h.lr * (m_hat / (std::sqrt(v_hat) + h.eps) + h.weight_decay * param[i]);
  }
}

const AdamWKernels& AdamWKernels::cpu() {
  static const AdamWKernels kernels{adamw_update_cpu};
  return kernels;
}

}  // namespace seqbench
