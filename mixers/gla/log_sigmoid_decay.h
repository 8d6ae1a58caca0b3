// Data-dependent decay in log space: g = log(sigmoid(z)^(1/tau)) = log_sigmoid(z) / tau, GLA's gate
// (Yang et al. 2023, eq. 6, tau = 16) and the scalar gate of Gated RetNet / Mamba-2 style mixers.
// log_sigmoid(z) = min(z, 0) - log1p(e^{-|z|}) never overflows; dg/dz = sigmoid(-z) / tau. The CPU
// kernels are checked by finite differences in test_gla.cpp, the CUDA kernels against them in
// test_gpu_gla.cpp (to a few float ulps: the CPU evaluates e^x with its own vector polynomials).
#pragma once

#include "ops/kernel_table.h"

namespace seqbench {

struct LogSigmoidDecayKernels : KernelFamily<LogSigmoidDecayKernels> {
  static constexpr const char* kFamily = "log_sigmoid_decay";

  void (*fwd)(const float* z, float* log_decay, int64_t n, float tau);
  // dz overwritten.
  void (*bwd)(const float* z, const float* dlog_decay, float* dz, int64_t n, float tau);
};

}  // namespace seqbench
