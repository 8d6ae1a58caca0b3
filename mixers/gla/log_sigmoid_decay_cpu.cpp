#include <algorithm>
#include <cmath>

#include "mixers/gla/log_sigmoid_decay.h"
#include "ops/simd_math.h"

namespace seqbench {
namespace {

constexpr int64_t kParallelElements = 1 << 15;
constexpr int64_t kBlock = 256;  // elements per block of exponentials computed together

}  // namespace

void log_sigmoid_decay_fwd_cpu(const float* z, float* log_decay, int64_t n, float tau) {
  const float inv_tau = 1.0f / tau;
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t len = std::min(n - b0, kBlock);
    float tail[kBlock];  // log1p(e^{-|z|})
    for (int64_t i = 0; i < len; ++i) tail[i] = -std::fabs(z[b0 + i]);
    simd_exp_array(tail, tail, len);
    simd_log1p_array(tail, tail, len);
    for (int64_t i = 0; i < len; ++i) log_decay[b0 + i] = (std::min(z[b0 + i], 0.0f) - tail[i]) * inv_tau;
  }
}

void log_sigmoid_decay_bwd_cpu(const float* z, const float* dlog_decay, float* dz, int64_t n, float tau) {
  const float inv_tau = 1.0f / tau;
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t len = std::min(n - b0, kBlock);
    float e[kBlock];  // d log_sigmoid(z) / dz = sigmoid(-z) = 1 / (1 + e^z)
    simd_exp_array(z + b0, e, len);
    for (int64_t i = 0; i < len; ++i) dz[b0 + i] = dlog_decay[b0 + i] * inv_tau / (1.0f + e[i]);
  }
}

template <>
LogSigmoidDecayKernels cpu_kernel_table<LogSigmoidDecayKernels>{
    {}, log_sigmoid_decay_fwd_cpu, log_sigmoid_decay_bwd_cpu};

}  // namespace seqbench
