// seqbench_gpu_bench rows for the delta rule (DeltaNet) at ANCHORS.md's shape (B=16, L=4096, 16
// heads of 128), forward and backward, fp32 (the anchor is bf16 Triton).
#include <cstdint>
#include <string>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "mixers/delta/delta_rule.h"

namespace seqbench {
namespace {

constexpr int64_t kBatch = 16, kLength = 4096, kHeads = 16, kHeadDim = 128;

void delta_rule(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  const DeltaRuleShape s{kBatch, kLength, kHeads, kHeadDim, kHeadDim};
  const DeltaRuleOptions o;
  const int64_t n = kBatch * kLength * kHeads * kHeadDim, nb = kBatch * kLength * kHeads;
  // Unit-norm keys (as the l2 gate leaves them) keep the recurrence contractive; 1/sqrt(D) scale
  // gives random vectors roughly that norm.
  auto q = random_array<float>(n, 51), v = random_array<float>(n, 53), dout = random_array<float>(n, 54);
  DeviceArray<float> k(n), beta(nb);
  fill_normal_cuda(k.data(), n, 52, 1.0f / 11.3137f);
  fill_normal_cuda(beta.data(), nb, 55, 0.1f);
  DeviceArray<float> out(n), dq(n), dk(n), dv(n), dbeta(nb);
  DeviceArray<float> checkpoints(kBatch * kHeads * delta_rule_checkpoint_count(s, o) * kHeadDim * kHeadDim);
  DeviceArray<float> workspace(delta_rule_bwd_workspace_floats(s, o));
  const GpuTiming fwd = timer.time([&] {
    DeltaRuleKernels::cuda().fwd(q.data(), k.data(), v.data(), beta.data(), nullptr, out.data(), checkpoints.data(),
                                 nullptr, s, o);
  });
  const GpuTiming bwd = timer.time([&] {
    delta_rule_bwd_cuda(q.data(), k.data(), v.data(), beta.data(), nullptr, checkpoints.data(), dout.data(), dq.data(),
                        dk.data(), dv.data(), dbeta.data(), nullptr, s, o, workspace.data());
  });
  const std::string shape = shape_text(kBatch, kLength, kHeads, kHeadDim);
  rows.push_back({"delta rule (DeltaNet, fp32) fwd", shape, fwd.median_ms, fwd.median_ms, "ms", 2.37, false});
  rows.push_back({"delta rule (DeltaNet, fp32) bwd", shape, bwd.median_ms, bwd.median_ms, "ms", 5.41, false});
}

const GpuBenchGroup kRows("delta", delta_rule);

}  // namespace
}  // namespace seqbench
