// seqbench_bench rows for the CPU softmax-attention kernels, FLOPs counted as FlashAttention's tools
// count them: causal forward 4*B*H*L^2*D/2 (two L x L x D products, half the pairs masked), backward
// 2.5x the forward.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/benchmark_catalog.h"
#include "mixers/softmax/softmax_attention.h"

namespace seqbench::bench {
namespace {

void register_attention(int64_t batch, int64_t len, int64_t heads, int64_t head_dim, bool backward) {
  const nlohmann::json shape{{"B", batch}, {"L", len}, {"H", heads}, {"D", head_dim}};
  const std::string op = backward ? "backward" : "forward";
  const std::string name = "softmax_attention/" + op + "/" + shape_suffix(shape);
  catalog_benchmark(name, {"softmax_attention", op, shape, len, heads * head_dim, 0});
  benchmark::RegisterBenchmark(
      name.c_str(),
      [=](benchmark::State& state) {
        const AttentionShape s{batch, len, heads, head_dim};
        const auto n = static_cast<size_t>(batch * len * heads * head_dim);
        const auto q = random_floats(n, 4), k = random_floats(n, 5), v = random_floats(n, 6),
                   dout = random_floats(n, 7);
        std::vector<float> out(n), lse(static_cast<size_t>(batch * heads * len)), dq(n), dk(n), dv(n);
        SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), s);
        for (auto _ : state) {
          if (backward)
            SoftmaxAttentionKernels::cpu().bwd(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(),
                                               dq.data(), dk.data(), dv.data(), s);
          else
            SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), s);
          benchmark::DoNotOptimize(out.data());
          benchmark::DoNotOptimize(dq.data());
        }
        const double forward_flops = 4.0 * batch * heads * static_cast<double>(len) * len * head_dim / 2;
        add_rate(state, "FLOP/s", backward ? 2.5 * forward_flops : forward_flops);
        add_rate(state, "tokens/s", static_cast<double>(batch * len));
      })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

void register_softmax_attention() {
  for (bool backward : {false, true}) {
    register_attention(1, 256, 2, 32, backward);
    register_attention(2, 1024, 4, 32, backward);
  }
}

const KernelBenchmarkGroup kRows(register_softmax_attention);

}  // namespace
}  // namespace seqbench::bench
