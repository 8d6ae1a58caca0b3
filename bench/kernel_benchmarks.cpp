// Micro-benchmarks of the shared kernels (matmul, 2*M*N*K FLOPs; layer norm, bytes read and written),
// then the kernel rows each mixer folder registers (mixers/<name>/<name>_bench.cpp).
#include <benchmark/benchmark.h>

#include <vector>

#include "bench/benchmark_catalog.h"
#include "ops/layer_norm.h"
#include "ops/matmul.h"

namespace seqbench::bench {
namespace {

void register_matmul(int64_t m, int64_t n, int64_t k) {
  const nlohmann::json shape{{"M", m}, {"N", n}, {"K", k}};
  const std::string name = "matmul/forward/" + shape_suffix(shape);
  catalog_benchmark(name, {"matmul", "forward", shape, 0, 0, 0});
  benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
    const auto a = random_floats(static_cast<size_t>(m * k), 1), b = random_floats(static_cast<size_t>(k * n), 2);
    std::vector<float> c(static_cast<size_t>(m * n));
    for (auto _ : state) {
      MatmulKernels::cpu().matmul(a.data(), b.data(), c.data(), MatmulShape{m, n, k});
      benchmark::DoNotOptimize(c.data());
    }
    add_rate(state, "FLOP/s", 2.0 * m * n * k);
    state.SetBytesProcessed(state.iterations() * (m * k + k * n + m * n) * 4);
  })->UseRealTime()->Unit(benchmark::kMicrosecond);
}

void register_layer_norm(int64_t rows, int64_t dim) {
  const nlohmann::json shape{{"rows", rows}, {"dim", dim}};
  const std::string name = "layer_norm/forward/" + shape_suffix(shape);
  catalog_benchmark(name, {"layer_norm", "forward", shape, 0, dim, 0});
  benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
    const auto x = random_floats(static_cast<size_t>(rows * dim), 3);
    const std::vector<float> gamma(static_cast<size_t>(dim), 1.0f), beta(static_cast<size_t>(dim), 0.0f);
    std::vector<float> y(x.size()), mean(static_cast<size_t>(rows)), rstd(static_cast<size_t>(rows));
    for (auto _ : state) {
      LayerNormKernels::cpu().fwd(x.data(), gamma.data(), beta.data(), y.data(), mean.data(), rstd.data(), rows, dim, 1e-5f);
      benchmark::DoNotOptimize(y.data());
    }
    // Reads x, writes y (the per-row statistics and parameters are negligible).
    state.SetBytesProcessed(state.iterations() * rows * dim * 2 * 4);
  })->UseRealTime()->Unit(benchmark::kMicrosecond);
}


}  // namespace

void register_kernel_benchmarks() {
  register_matmul(256, 256, 256);
  register_matmul(127, 509, 61);  // odd sizes: no tile divides them
  register_layer_norm(4096, 128);
  register_layer_norm(1021, 67);
  for (const auto register_rows : kernel_benchmark_groups()) register_rows();
}

}  // namespace seqbench::bench
