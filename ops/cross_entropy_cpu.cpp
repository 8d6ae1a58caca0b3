#include <cmath>
#include <vector>

#include "ops/cross_entropy.h"

namespace seqbench {

void cross_entropy_cpu(const float* logits, const int32_t* targets, float* dlogits, int64_t rows, int64_t vocab,
                       double* mean_loss) {
  *mean_loss = 0.0;
  if (rows == 0) return;
  std::vector<double> row_loss(static_cast<size_t>(rows));
  const float inv_rows = 1.0f / static_cast<float>(rows);
#pragma omp parallel for schedule(static) if (rows * vocab > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const float* z = logits + r * vocab;
    float zmax = z[0];
    for (int64_t j = 1; j < vocab; ++j) zmax = z[j] > zmax ? z[j] : zmax;
    double sum = 0;
    for (int64_t j = 0; j < vocab; ++j) sum += std::exp(static_cast<double>(z[j] - zmax));
    const double lse = zmax + std::log(sum);
    row_loss[r] = lse - z[targets[r]];
    if (dlogits) {
      float* d = dlogits + r * vocab;
      for (int64_t j = 0; j < vocab; ++j) d[j] = static_cast<float>(std::exp(z[j] - lse)) * inv_rows;
      d[targets[r]] -= inv_rows;
    }
  }
  double total = 0;
  for (double l : row_loss) total += l;  // fixed order: deterministic
  *mean_loss = total / rows;
}

void argmax_rows_cpu(const float* logits, int32_t* out, int64_t rows, int64_t vocab) {
#pragma omp parallel for schedule(static) if (rows * vocab > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const float* z = logits + r * vocab;
    int64_t best = 0;
    for (int64_t j = 1; j < vocab; ++j)
      if (z[j] > z[best]) best = j;
    out[r] = static_cast<int32_t>(best);
  }
}

template <>
CrossEntropyKernels cpu_kernel_table<CrossEntropyKernels>{{}, cross_entropy_cpu, argmax_rows_cpu};

}  // namespace seqbench
