// The case grid the Hopper attention forward and backward tests share: lengths that cut the 128-query
// and 128-key tiles unevenly, batch 1 and 2, head dims 64 and 128, causal and full, with 3 heads.
#pragma once
#include <cstdint>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace seqbench::testing {

constexpr int64_t kHopperTestHeads = 3;

// Axes (L, B, D, causal) for for_each_seeded_case.
inline std::tuple<std::vector<int64_t>, std::vector<int64_t>, std::vector<int64_t>, std::vector<bool>>
hopper_uneven_cases() {
  return {{1, 63, 65, 130, 257, 1000}, {1, 2}, {64, 128}, {true, false}};
}

inline std::string describe_hopper_case(int64_t L, int64_t B, int64_t D, bool causal) {
  std::ostringstream text;
  text << "B=" << B << " L=" << L << " H=" << kHopperTestHeads << " D=" << D << (causal ? " causal" : " full");
  return text.str();
}

}  // namespace seqbench::testing
