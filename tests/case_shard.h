// One slice of a test's case grid, so that a long test case can run as several processes side by side:
// under compute-sanitizer, whose instrumentation slows every kernel by orders of magnitude, the large
// grids take many minutes as one process. SEQBENCH_TEST_SHARD=i/n runs the cases whose index in the
// grid is i modulo n; unset, every case runs. A case's inputs depend on its index alone (its seed), so
// the n slices together check exactly what one run checks.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqbench::testing {

struct CaseShard {
  uint64_t index = 0, count = 1;
  bool holds(uint64_t case_index) const { return case_index % count == index; }
};

// "i/n" with 0 <= i < n; anything else throws std::invalid_argument naming the variable and the text.
inline CaseShard parse_case_shard(const std::string& text) {
  const auto refuse = [&] {
    return std::invalid_argument("SEQBENCH_TEST_SHARD: expected i/n with 0 <= i < n (e.g. 2/8), got '" + text + "'");
  };
  const size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) throw refuse();
  const auto digits = [&](const std::string& part) {
    if (part.size() > 9 || part.find_first_not_of("0123456789") != std::string::npos) throw refuse();
    return std::stoull(part);
  };
  CaseShard shard{digits(text.substr(0, slash)), digits(text.substr(slash + 1))};
  if (shard.count == 0 || shard.index >= shard.count) throw refuse();
  return shard;
}

// The process's slice: SEQBENCH_TEST_SHARD, or every case when it is unset or empty.
inline CaseShard case_shard() {
  const char* text = std::getenv("SEQBENCH_TEST_SHARD");
  return text && *text ? parse_case_shard(text) : CaseShard{};
}

// The cases of a plain list that the process's slice holds, in order.
template <class Case>
std::vector<Case> cases_of_this_shard(const std::vector<Case>& cases) {
  const CaseShard shard = case_shard();
  std::vector<Case> out;
  for (size_t i = 0; i < cases.size(); ++i)
    if (shard.holds(i)) out.push_back(cases[i]);
  return out;
}

}  // namespace seqbench::testing
