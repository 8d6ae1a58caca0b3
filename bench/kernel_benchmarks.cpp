// Micro-benchmarks of the shared kernels, with FLOP and byte counters counted the way
// FlashAttention's and nvbench's tools count them: matmul 2*M*N*K; causal attention forward
// 4*B*H*L^2*D/2 (two L x L x D products, half the pairs masked), backward 2.5x the forward.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench/benchmark_catalog.h"
#include "mixers/softmax/softmax_attention.h"
#include "ops/layer_norm.h"
#include "ops/matmul.h"
#include "ops/rng.h"

namespace seqbench::bench {
namespace {

std::vector<float> random_floats(size_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(count);
  for (auto& x : v) x = static_cast<float>(rng.uniform(-1.0, 1.0));
  return v;
}

void add_rate(benchmark::State& state, const char* name, double per_iteration) {
  state.counters[name] = benchmark::Counter(per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

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

void register_attention(int64_t batch, int64_t len, int64_t heads, int64_t head_dim, bool backward) {
  const nlohmann::json shape{{"B", batch}, {"L", len}, {"H", heads}, {"D", head_dim}};
  const std::string op = backward ? "backward" : "forward";
  const std::string name = "softmax_attention/" + op + "/" + shape_suffix(shape);
  catalog_benchmark(name, {"softmax_attention", op, shape, len, heads * head_dim, 0});
  benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
    const AttentionShape s{batch, len, heads, head_dim};
    const auto n = static_cast<size_t>(batch * len * heads * head_dim);
    const auto q = random_floats(n, 4), k = random_floats(n, 5), v = random_floats(n, 6), dout = random_floats(n, 7);
    std::vector<float> out(n), lse(static_cast<size_t>(batch * heads * len)), dq(n), dk(n), dv(n);
    SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), s);
    for (auto _ : state) {
      if (backward)
        SoftmaxAttentionKernels::cpu().bwd(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), dq.data(),
                                  dk.data(), dv.data(), s);
      else
        SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), s);
      benchmark::DoNotOptimize(out.data());
      benchmark::DoNotOptimize(dq.data());
    }
    const double forward_flops = 4.0 * batch * heads * static_cast<double>(len) * len * head_dim / 2;
    add_rate(state, "FLOP/s", backward ? 2.5 * forward_flops : forward_flops);
    add_rate(state, "tokens/s", static_cast<double>(batch * len));
  })->UseRealTime()->Unit(benchmark::kMicrosecond);
}

}  // namespace

void register_kernel_benchmarks() {
  register_matmul(256, 256, 256);
  register_matmul(127, 509, 61);  // odd sizes: no tile divides them
  register_layer_norm(4096, 128);
  register_layer_norm(1021, 67);
  for (bool backward : {false, true}) {
    register_attention(1, 256, 2, 32, backward);
    register_attention(2, 1024, 4, 32, backward);
  }
}

}  // namespace seqbench::bench
