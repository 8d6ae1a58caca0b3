// Deterministic random numbers: xoshiro256** seeded through splitmix64. The distributions are
// written out here (not std::*_distribution) so a seed gives the same draws on every platform.
#pragma once
#include <cmath>
#include <cstdint>

namespace seqbench {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& s : state_) s = splitmix64(x);
  }

  uint64_t next_u64() {
    uint64_t result = rotl(state_[1] * 5, 7) * 9;
    uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [lo, hi): Lemire-free rejection keeps it exactly unbiased.
  int64_t uniform_int(int64_t lo, int64_t hi) {
    uint64_t range = static_cast<uint64_t>(hi - lo);
    uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t draw;
    do draw = next_u64();
    while (draw >= limit);
    return lo + static_cast<int64_t>(draw % range);
  }

  // Standard normal via Box-Muller.
  double normal() {
    double u1 = uniform();
    double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // An independent stream derived from this seed and a label (e.g. a layer index).
  static uint64_t derive(uint64_t seed, uint64_t label) {
    uint64_t x = seed ^ (label * 0x9E3779B97F4A7C15ULL);
    return splitmix64(x);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t state_[4];
};

}  // namespace seqbench
