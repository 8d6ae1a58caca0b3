#include "bench_gpu/gpu_bench_group.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

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

// SEQBENCH_GPU_BENCH_GROUPS=a,b keeps the groups named, to measure a few rows under several settings
// without the others; a name that no group has is an error.
const std::vector<std::pair<std::string, GpuBenchRows>>& gpu_bench_groups() {
  static const std::vector<std::pair<std::string, GpuBenchRows>> chosen = [] {
    const char* names = std::getenv("SEQBENCH_GPU_BENCH_GROUPS");
    if (!names) return groups();
    std::vector<std::pair<std::string, GpuBenchRows>> kept;
    std::istringstream list(names);
    for (std::string name; std::getline(list, name, ',');) {
      auto found = std::find_if(groups().begin(), groups().end(), [&](const auto& g) { return g.first == name; });
      if (found == groups().end()) {
        std::string known;
        for (const auto& g : groups()) known += " " + g.first;
        throw std::invalid_argument("SEQBENCH_GPU_BENCH_GROUPS names '" + name + "'; the groups are:" + known);
      }
      kept.push_back(*found);
    }
    return kept;
  }();
  return chosen;
}

}  // namespace seqbench
