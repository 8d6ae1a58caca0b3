#include "bench/benchmark_catalog.h"

#include <map>

namespace seqbench::bench {
namespace {

std::map<std::string, BenchmarkInfo>& catalog() {
  static std::map<std::string, BenchmarkInfo> entries;
  return entries;
}

}  // namespace

void catalog_benchmark(const std::string& name, const BenchmarkInfo& info) { catalog()[name] = info; }

const BenchmarkInfo* find_benchmark_info(const std::string& name) {
  auto it = catalog().find(name);
  return it == catalog().end() ? nullptr : &it->second;
}

std::string shape_suffix(const nlohmann::json& shape) {
  std::string out;
  for (auto it = shape.begin(); it != shape.end(); ++it)
    out += (out.empty() ? "" : "_") + it.key() + it.value().dump();
  return out;
}

}  // namespace seqbench::bench
