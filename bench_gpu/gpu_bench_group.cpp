#include "bench_gpu/gpu_bench_group.h"

#include <algorithm>

namespace seqbench {
namespace {

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

}  // namespace seqbench
