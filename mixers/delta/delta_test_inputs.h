// Inputs for the delta rule kernel tests (test_delta.cpp against the reference, test_gpu_delta.cpp
// against the CPU kernels): what the mixer feeds the kernel, drawn from a seeded generator.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "mixers/delta/delta_rule.h"
#include "mixers/delta/delta_rule_gates.h"
#include "ops/rng.h"
#include "tests/random_values.h"

namespace seqbench::testing {

template <class T>
struct DeltaInputs {
  std::vector<T> q, k, v, beta, log_decay;  // log_decay empty: ungated
  const T* decay() const { return log_decay.empty() ? nullptr : log_decay.data(); }
};

// Unit-length q and k rows, beta in (0.05, 0.95), decay in (0.37, 0.99). `tokens` is seq_len for
// the training kernels and 1 for decode.
inline DeltaInputs<float> random_delta_inputs(const DeltaRuleShape& s, int64_t tokens, Rng& rng, bool gated) {
  const int64_t rows = s.batch * tokens * s.heads;
  DeltaInputs<float> in;
  in.q = normal_values(rows * s.key_dim, rng);
  in.k = normal_values(rows * s.key_dim, rng);
  DeltaRuleGateKernels::cpu().l2_normalize_fwd(in.q.data(), in.q.data(), rows, s.key_dim, 0.0f);
  DeltaRuleGateKernels::cpu().l2_normalize_fwd(in.k.data(), in.k.data(), rows, s.key_dim, 0.0f);
  in.v = normal_values(rows * s.value_dim, rng);
  in.beta = uniform_values(rows, rng, 0.05, 0.95);
  if (gated) in.log_decay = uniform_values(rows, rng, -1.0, -0.01);
  return in;
}

inline std::string describe_delta_case(const DeltaRuleShape& s, const DeltaRuleOptions& o, bool gated) {
  return "B=" + std::to_string(s.batch) + " L=" + std::to_string(s.seq_len) + " H=" + std::to_string(s.heads) +
         " Dk=" + std::to_string(s.key_dim) + " Dv=" + std::to_string(s.value_dim) +
         " chunk=" + std::to_string(o.chunk_size) + " span=" + std::to_string(o.recompute_span) +
         " gated=" + (gated ? "true" : "false");
}

}  // namespace seqbench::testing
