#include "bench_gpu/bench_lengths.h"

#include <stdexcept>
#include <string>
#include <utility>

namespace seqbench {
namespace {

std::vector<int64_t>& chosen() {
  static std::vector<int64_t> lengths{1024, 4096, 16384};
  return lengths;
}

}  // namespace

const std::vector<int64_t>& bench_lengths() { return chosen(); }

void set_bench_lengths(std::vector<int64_t> lengths) {
  if (lengths.empty()) throw std::invalid_argument("the bench needs at least one length");
  for (int64_t L : lengths)
    if (L < 1 || kBenchTokens % L != 0)
      throw std::invalid_argument("bench length " + std::to_string(L) + " does not divide the " +
                                  std::to_string(kBenchTokens) + " tokens every row runs (B = tokens / L)");
  chosen() = std::move(lengths);
}

}  // namespace seqbench
