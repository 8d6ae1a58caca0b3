// Attention mass per key (attention_mass.h): two passes per (batch, head), a log-sum-exp per query
// row, then each key's probabilities summed over rows in ascending order.
#include <cmath>
#include <limits>
#include <vector>

#include "mixers/softmax/kv_policies/attention_mass.h"
#include "ops/vector_ops.h"

namespace seqbench {

void attention_mass_cpu(const float* q, int64_t rows, const int32_t* limits, const float* keys, int64_t used,
                        float* mass, const AttentionShape& cache) {
  const int64_t H = cache.heads, D = cache.head_dim, stride = H * D, pairs = cache.batch * H;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
#pragma omp parallel for schedule(static) if (pairs > 1 && pairs * rows * used * D > (1 << 16))
  for (int64_t bh = 0; bh < pairs; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    const float* key0 = keys + b * cache.seq_len * stride + h * D;
    const float* q0 = q + b * rows * stride + h * D;
    std::vector<float> scores(static_cast<size_t>(used));
    float* out = mass + bh * used;
    for (int64_t j = 0; j < used; ++j) out[j] = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t last = limits[r];
      float max_score = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j <= last; ++j) {
        scores[j] = dot_cpu(q0 + r * stride, key0 + j * stride, D) * scale;
        max_score = std::max(max_score, scores[j]);
      }
      float sum = 0.0f;
      for (int64_t j = 0; j <= last; ++j) sum += std::exp(scores[j] - max_score);
      const float lse = max_score + std::log(sum);
      for (int64_t j = 0; j <= last; ++j) out[j] += std::exp(scores[j] - lse);
    }
  }
}

template <>
AttentionMassKernels cpu_kernel_table<AttentionMassKernels>{{}, attention_mass_cpu, no_shape_limits<AttentionShape>};

}  // namespace seqbench
