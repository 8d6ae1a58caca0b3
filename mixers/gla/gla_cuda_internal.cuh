// What the GLA CUDA sources share: the shape check every entry point makes (as gla_cpu.cpp checks
// its calls) and the decode step with its limits (gla_decode_cuda.cu), which the kernel table in
// gla_cuda.cu names.
#pragma once
#include <stdexcept>
#include <string>

#include "mixers/gla/gla.h"

namespace seqbench {

// Decode, like gla_decode_cpu, ignores seq_len (`scan` false).
inline void check_gla_shape(const GlaShape& s, const char* who, bool scan) {
  if (s.batch < 0 || (scan && s.seq_len < 0) || s.heads < 1 || s.key_dim < 1 || s.value_dim < 1)
    throw std::invalid_argument(std::string(who) + ": bad shape batch=" + std::to_string(s.batch) +
                                " seq_len=" + std::to_string(s.seq_len) + " heads=" + std::to_string(s.heads) +
                                " key_dim=" + std::to_string(s.key_dim) + " value_dim=" + std::to_string(s.value_dim));
}

void gla_decode_cuda(const float* q_t, const float* k_t, const float* v_t, const float* log_decay_t, float* state,
                     float* out_t, const GlaShape& shape, const GlaOptions& options);
// "" when decode fits on the GPU: 3 Dk + Dv floats in shared memory, B * H < 2^31.
std::string gla_decode_limits(const GlaShape& shape);

}  // namespace seqbench
