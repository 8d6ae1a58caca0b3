#include "bench_gpu/gpu_bench_group.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace seqbench {
namespace {

std::vector<int64_t>& lengths() {
  static std::vector<int64_t> chosen{1024, 4096, 16384};
  return chosen;
}

std::vector<std::pair<std::string, GpuBenchRows>>& groups() {
  static std::vector<std::pair<std::string, GpuBenchRows>> all;  // built during static initialisation
  return all;
}

}  // namespace

GpuBenchGroup::GpuBenchGroup(std::string name, GpuBenchRows rows) {
  auto& all = groups();
  all.emplace_back(std::move(name), rows);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
}

const std::vector<std::pair<std::string, GpuBenchRows>>& gpu_bench_groups() { return groups(); }

const std::vector<int64_t>& bench_lengths() { return lengths(); }

void set_bench_lengths(std::vector<int64_t> chosen) {
  if (chosen.empty()) throw std::invalid_argument("the bench needs at least one length");
  for (int64_t L : chosen)
    if (L < 1 || kBenchTokens % L != 0)
      throw std::invalid_argument("bench length " + std::to_string(L) + " does not divide the " +
                                  std::to_string(kBenchTokens) + " tokens every row runs (B = tokens / L)");
  lengths() = std::move(chosen);
}

}  // namespace seqbench
