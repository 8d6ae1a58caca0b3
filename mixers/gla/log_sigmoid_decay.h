// Data-dependent decay in log space: g = log(sigmoid(z)^(1/tau)) = log_sigmoid(z) / tau, GLA's gate
// (Yang et al. 2023, eq. 6, tau = 16) and the scalar gate of Gated RetNet / Mamba-2 style mixers.
// log_sigmoid(z) = min(z, 0) - log1p(e^{-|z|}) never overflows; dg/dz = sigmoid(-z) / tau. Checked by
// finite differences in tests/test_gla.cpp.
#pragma once
#include <cstdint>

namespace seqbench {

void log_sigmoid_decay_fwd_cpu(const float* z, float* log_decay, int64_t n, float tau);
// dz overwritten.
void log_sigmoid_decay_bwd_cpu(const float* z, const float* dlog_decay, float* dz, int64_t n, float tau);

}  // namespace seqbench
