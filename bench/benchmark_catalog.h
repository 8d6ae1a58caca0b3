// What each registered benchmark measures (backend, operation, shape), kept beside its name so
// `seqbench_bench --store` can file every benchmark as a cell that `seqbench compare` can match.
#pragma once
#include <benchmark/benchmark.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace seqbench::bench {

struct BenchmarkInfo {
  std::string backend;  // mixer name, or the kernel ("matmul", "layer_norm", "softmax_attention")
  std::string op;       // forward, backward, decode_step, ...
  nlohmann::json shape = nlohmann::json::object();
  int64_t seq_len = 0, d_model = 0, state_bytes = 0;
};

void catalog_benchmark(const std::string& name, const BenchmarkInfo& info);
const BenchmarkInfo* find_benchmark_info(const std::string& name);  // null when not catalogued

// "B1_L256_d64_h1"-style suffix from a shape object, for benchmark names.
std::string shape_suffix(const nlohmann::json& shape);

// Kernel micro-benchmarks a mixer folder contributes (mixers/<name>/<name>_bench.cpp): a static
// KernelBenchmarkGroup there names the function that registers them.
using RegisterBenchmarks = void (*)();
struct KernelBenchmarkGroup {
  explicit KernelBenchmarkGroup(RegisterBenchmarks register_rows);
};
const std::vector<RegisterBenchmarks>& kernel_benchmark_groups();

// Inputs and counters the benchmark files share: uniform [-1, 1) floats from a seed, and a rate
// counter per iteration (FLOP/s, tokens/s).
std::vector<float> random_floats(size_t count, uint64_t seed);
void add_rate(benchmark::State& state, const char* name, double per_iteration);

void register_kernel_benchmarks();
void register_mixer_benchmarks();

}  // namespace seqbench::bench
