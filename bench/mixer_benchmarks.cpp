// Forward, backward and one-token decode of every registered mixer backend at a few shapes.
// The registry is iterated, so a new backend is benchmarked without touching this file. FLOP/s
// is reported only where the count is well defined (softmax attention: projections 8*B*L*d^2
// plus the causal core 2*B*L^2*d forward; backward 2.5x); tokens/s everywhere.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>

#include "bench/benchmark_catalog.h"
#include "ops/rng.h"
#include "models/mixer_registry.h"

namespace seqbench::bench {
namespace {

struct MixerShape {
  int64_t batch, len;
  int d_model, heads;
};

constexpr int64_t kDecodeSteps = 64;  // tokens decoded before the cache is refilled

Tensor random_tensor(const Shape& shape, uint64_t seed) {
  Tensor t(shape);
  Rng rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
  return t;
}

MixerSpec spec_for(const std::string& backend, const MixerShape& s) {
  MixerSpec spec;
  spec.kind = backend;
  spec.d_model = s.d_model;
  spec.n_heads = s.heads;
  spec.seed = 11;
  return spec;
}

double forward_flops(const std::string& backend, const MixerShape& s) {
  if (backend != "softmax") return 0;
  const double b = static_cast<double>(s.batch), l = static_cast<double>(s.len), d = s.d_model;
  return 8 * b * l * d * d + 2 * b * l * l * d;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run_forward(benchmark::State& state, Mixer& mixer, const MixerShape& s) {
  const Tensor x = random_tensor({s.batch, s.len, s.d_model}, 1);
  Tensor y;
  for (auto _ : state) {
    mixer.forward(x, y, nullptr);
    benchmark::DoNotOptimize(y.data());
  }
}

// Backward needs its forward's saved tensors: the forward runs untimed before each backward.
void run_backward(benchmark::State& state, Mixer& mixer, const MixerShape& s) {
  const Tensor x = random_tensor({s.batch, s.len, s.d_model}, 1), dy = random_tensor({s.batch, s.len, s.d_model}, 2);
  Tensor y, dx;
  for (auto _ : state) {
    mixer.forward(x, y, nullptr);
    const auto start = std::chrono::steady_clock::now();
    mixer.backward(dy, dx);
    benchmark::DoNotOptimize(dx.data());
    state.SetIterationTime(seconds_since(start));
  }
}

// One token per sequence after a context of s.len tokens; the cache is refilled (untimed) every
// kDecodeSteps tokens so the context stays between len and len + kDecodeSteps.
void run_decode(benchmark::State& state, Mixer& mixer, const MixerShape& s) {
  const Tensor x = random_tensor({s.batch, s.len, s.d_model}, 1), x_t = random_tensor({s.batch, s.d_model}, 3);
  Tensor y, y_t;
  auto cache = mixer.make_cache(static_cast<int>(s.batch), static_cast<int>(s.len + kDecodeSteps));
  mixer.forward(x, y, cache.get());
  for (auto _ : state) {
    if (cache->position >= s.len + kDecodeSteps) {
      cache = mixer.make_cache(static_cast<int>(s.batch), static_cast<int>(s.len + kDecodeSteps));
      mixer.forward(x, y, cache.get());
    }
    const auto start = std::chrono::steady_clock::now();
    mixer.step(x_t, y_t, *cache);
    benchmark::DoNotOptimize(y_t.data());
    state.SetIterationTime(seconds_since(start));
  }
}

void register_mixer(const std::string& backend, const std::string& op, const MixerShape& s) {
  const nlohmann::json shape{{"B", s.batch}, {"L", s.len}, {"d", s.d_model}, {"h", s.heads}};
  const std::string name = backend + "/" + op + "/" + shape_suffix(shape);
  int64_t state_bytes = 0;
  try {
    state_bytes = static_cast<int64_t>(make_mixer(spec_for(backend, s))->state_bytes(static_cast<int>(s.len)));
  } catch (const std::exception&) {
    // Reported by the benchmark itself (SkipWithError) so the listing stays complete.
  }
  catalog_benchmark(name, {backend, op, shape, s.len, s.d_model, state_bytes});
  auto* bench = benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
    std::unique_ptr<Mixer> mixer;
    try {
      mixer = make_mixer(spec_for(backend, s));
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      return;
    }
    if (op == "forward") run_forward(state, *mixer, s);
    if (op == "backward") run_backward(state, *mixer, s);
    if (op == "decode_step") run_decode(state, *mixer, s);
    const double tokens = op == "decode_step" ? static_cast<double>(s.batch) : static_cast<double>(s.batch * s.len);
    state.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
    const double flops = forward_flops(backend, s) * (op == "backward" ? 2.5 : 1.0);
    if (flops > 0 && op != "decode_step")
      state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  });
  bench->Unit(benchmark::kMicrosecond);
  if (op == "forward")
    bench->UseRealTime();
  else
    bench->UseManualTime();
}

}  // namespace

void register_mixer_benchmarks() {
  const MixerShape shapes[] = {{1, 128, 64, 1}, {2, 512, 128, 4}};
  for (const MixerInfo& info : mixer_backends())
    for (const MixerShape& s : shapes)
      for (const char* op : {"forward", "backward", "decode_step"}) register_mixer(info.name, op, s);
}

}  // namespace seqbench::bench
