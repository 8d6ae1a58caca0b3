#include <algorithm>
#include <cmath>

#include "ops/adamw.h"
#include "ops/row_ops.h"
#include "ops/vector_ops.h"

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

std::vector<AdamWChunk> adamw_chunks(const std::vector<AdamWSlot>& slots) {
  std::vector<AdamWChunk> chunks;
  for (size_t s = 0; s < slots.size(); ++s)
    for (int64_t begin = 0; begin < slots[s].n; begin += kAdamWChunkElements)
      chunks.push_back({static_cast<int64_t>(s), begin, std::min(slots[s].n, begin + kAdamWChunkElements)});
  return chunks;
}

void adamw_clipped_step_cpu(const AdamWSlots& group, double max_norm, const AdamWHyper& hyper) {
  const AdamWSlot* const first = group.slots;
  const AdamWSlot* const last = group.slots + group.count;
  double sum = 0.0;
  for (const AdamWSlot* s = first; s != last; ++s) sum += RowOpKernels::cpu().sum_of_squares(s->grad, s->n);
  *group.grad_sum_of_squares = sum;
  const double norm = std::sqrt(sum);
  if (max_norm > 0 && norm > max_norm) {
    const float scale = static_cast<float>(max_norm / norm);
    for (const AdamWSlot* s = first; s != last; ++s) scale_cpu(scale, s->grad, s->n);
  }
  AdamWHyper h = hyper;
  for (const AdamWSlot* s = first; s != last; ++s) {
    h.weight_decay = s->weight_decay;
    adamw_update_cpu(s->param, s->grad, s->m, s->v, s->n, h);
    std::fill(s->grad, s->grad + s->n, 0.0f);
  }
}

template <>
AdamWKernels cpu_kernel_table<AdamWKernels>{{}, adamw_update_cpu, adamw_clipped_step_cpu};

}  // namespace seqbench
