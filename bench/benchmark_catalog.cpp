#include "bench/benchmark_catalog.h"

#include <map>

#include "ops/rng.h"

namespace seqbench::bench {
namespace {

std::map<std::string, BenchmarkInfo>& catalog() {
  static std::map<std::string, BenchmarkInfo> entries;
  return entries;
}

std::vector<RegisterBenchmarks>& kernel_groups() {
  static std::vector<RegisterBenchmarks> groups;  // filled during static initialisation
  return groups;
}

}  // namespace

void catalog_benchmark(const std::string& name, const BenchmarkInfo& info) { catalog()[name] = info; }

const BenchmarkInfo* find_benchmark_info(const std::string& name) {
  auto it = catalog().find(name);
  return it == catalog().end() ? nullptr : &it->second;
}

KernelBenchmarkGroup::KernelBenchmarkGroup(RegisterBenchmarks register_rows) {
  kernel_groups().push_back(register_rows);
}

const std::vector<RegisterBenchmarks>& kernel_benchmark_groups() { return kernel_groups(); }

std::vector<float> random_floats(size_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(count);
  for (auto& x : v) x = static_cast<float>(rng.uniform(-1.0, 1.0));
  return v;
}

void add_rate(benchmark::State& state, const char* name, double per_iteration) {
  state.counters[name] = benchmark::Counter(per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

std::string shape_suffix(const nlohmann::json& shape) {
  std::string out;
  for (auto it = shape.begin(); it != shape.end(); ++it)
    out += (out.empty() ? "" : "_") + it.key() + it.value().dump();
  return out;
}

}  // namespace seqbench::bench
