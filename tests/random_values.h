// Seeded random test inputs: every draw comes from the generator passed in, so a case's seed
// reproduces its inputs exactly.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/rng.h"
#include "ops/tensor.h"

namespace seqbench::testing {

inline std::vector<float> normal_values(int64_t n, Rng& rng, double scale = 1.0) {
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& x : out) x = static_cast<float>(rng.normal() * scale);
  return out;
}

inline std::vector<float> uniform_values(int64_t n, Rng& rng, double lo, double hi) {
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& x : out) x = static_cast<float>(rng.uniform(lo, hi));
  return out;
}

// n token ids drawn uniformly from [0, vocab_size), one draw each, in order.
inline std::vector<int32_t> random_tokens(int64_t n, Rng& rng, int vocab_size) {
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (auto& t : out) t = static_cast<int32_t>(rng.uniform_int(0, vocab_size));
  return out;
}

inline Tensor random_tensor(const Shape& shape, Rng& rng, double scale = 1.0) {
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.normal() * scale);
  return t;
}

}  // namespace seqbench::testing
