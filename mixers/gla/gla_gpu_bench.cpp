// seqbench_gpu_bench rows for gated linear attention at ANCHORS.md's shape (B=16, L=4096, 16 heads
// of 128): per-channel (GLA) and scalar (Mamba-2-like) decay, forward and backward, fp32 (the anchors
// are bf16 Triton), and the scalar decay in bf16 on tensor cores (anchor: FLA chunk_simple_gla).
#include <cuda_bf16.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "mixers/gla/gla.h"
#include "mixers/gla/gla_scalar_bf16.cuh"

namespace seqbench {
namespace {

constexpr int64_t kBatch = 16, kLength = 4096, kHeads = 16, kHeadDim = 128;

void gated_linear_attention(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, bool channel) {
  const GlaShape s{kBatch, kLength, kHeads, kHeadDim, kHeadDim, channel};
  GlaOptions o;
  o.scale = 1.0f / 11.3137f;  // key_dim^-1/2
  const int64_t n = kBatch * kLength * kHeads * kHeadDim, ng = kBatch * kLength * kHeads * s.decay_width();
  auto q = random_array<float>(n, 41), k = random_array<float>(n, 42), v = random_array<float>(n, 43);
  auto dout = random_array<float>(n, 44);
  DeviceArray<float> g(ng);
  fill_normal_cuda(g.data(), ng, 45, 0.01f);  // log decays near 0: timing does not depend on them
  DeviceArray<float> out(n), dq(n), dk(n), dv(n), dg(ng);
  DeviceArray<float> states(kBatch * kHeads * gla_num_chunks(kLength, o.chunk_size) * kHeadDim * kHeadDim);
  const GpuTiming fwd = timer.time([&] {
    GlaKernels::cuda().fwd(q.data(), k.data(), v.data(), g.data(), out.data(), states.data(), nullptr, s, o);
  });
  const std::string what =
      channel ? "per-channel gated linear attention (GLA, fp32)" : "scalar-gated linear attention (fp32)";
  const std::string shape = shape_text(kBatch, kLength, kHeads, kHeadDim);
  rows.push_back({what + " fwd", shape, fwd.median_ms, fwd.median_ms, "ms", channel ? 3.29 : 1.03, false});
  const GpuTiming bwd = timer.time([&] {
    GlaKernels::cuda().bwd(q.data(), k.data(), v.data(), g.data(), states.data(), dout.data(), dq.data(), dk.data(),
                           dv.data(), dg.data(), s, o);
  });
  rows.push_back({what + " bwd", shape, bwd.median_ms, bwd.median_ms, "ms", channel ? 11.34 : 0, false});
}

// FLA's chunk_simple_gla forward takes 0.80 ms here; its backward does not run on Hopper, so no anchor.
void scalar_gated_bf16(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  using bf16 = __nv_bfloat16;
  const GlaShape s{kBatch, kLength, kHeads, kHeadDim, kHeadDim, false};
  GlaOptions o;
  o.scale = 1.0f / 11.3137f;  // key_dim^-1/2
  const int64_t n = kBatch * kLength * kHeads * kHeadDim, ng = kBatch * kLength * kHeads;
  auto q = random_array<bf16>(n, 51), k = random_array<bf16>(n, 52), v = random_array<bf16>(n, 53);
  auto dout = random_array<bf16>(n, 54);
  DeviceArray<float> g(ng), dg(ng), workspace(gla_scalar_workspace_floats(s));
  fill_normal_cuda(g.data(), ng, 55, 0.01f);  // log decays near 0: timing does not depend on them
  DeviceArray<bf16> out(n), dq(n), dk(n), dv(n), states(gla_scalar_chunk_state_elements(s));
  // The forward as FLA times it (its backward recomputes the states), then the one a training step runs.
  const GlaScalarFwdVariant variant = gla_scalar_fwd_variant();
  auto forward = [&](bf16* keep) {
    gla_scalar_fwd_cuda(q.data(), k.data(), v.data(), g.data(), out.data(), keep, nullptr, workspace.data(), s, o,
                        variant);
  };
  const GpuTiming fwd = timer.time([&] { forward(nullptr); });
  const GpuTiming fwd_keep = timer.time([&] { forward(states.data()); });
  const std::string what = std::string("scalar-gated linear attention (bf16, tensor cores, ") +
                           gla_scalar_fwd_variant_name(variant) + ")";
  const std::string shape = shape_text(kBatch, kLength, kHeads, kHeadDim);
  rows.push_back({what + " fwd", shape, fwd.median_ms, fwd.median_ms, "ms", 0.80, false});
  rows.push_back({what + " fwd keeping states", shape, fwd_keep.median_ms, fwd_keep.median_ms, "ms", 0, false});
  const GpuTiming bwd = timer.time([&] {
    gla_scalar_bwd_cuda(q.data(), k.data(), v.data(), g.data(), states.data(), dout.data(), dq.data(), dk.data(),
                        dv.data(), dg.data(), workspace.data(), s, o);
  });
  rows.push_back({what + " bwd", shape, bwd.median_ms, bwd.median_ms, "ms", 0, false});
}

void gla_rows(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  gated_linear_attention(timer, rows, true);
  gated_linear_attention(timer, rows, false);
  scalar_gated_bf16(timer, rows);
}

const GpuBenchGroup kRows("gla", gla_rows);

}  // namespace
}  // namespace seqbench
