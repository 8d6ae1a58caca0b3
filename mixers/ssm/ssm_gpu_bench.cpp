// seqbench_gpu_bench rows for Mamba-2's SSD at ANCHORS.md's shape (B=16, L=4096, 32 heads of 64,
// state 128, chunk 256), forward and backward, fp32 (the anchor is mamba_ssm's Triton kernel).
#include <cstdint>
#include <string>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "mixers/ssm/ssd.h"

namespace seqbench {
namespace {

constexpr int64_t kBatch = 16, kLength = 4096;

void mamba2_ssd(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  const SsdShape s{kBatch, kLength, 32, 64, 128};
  const int64_t tokens = kBatch * kLength, inner = s.heads * s.head_dim;
  auto x = random_array<float>(tokens * inner, 61), bc = random_array<float>(tokens * 2 * s.state_dim, 62);
  auto dt = random_array<float>(tokens * s.heads, 63), dy = random_array<float>(tokens * inner, 64);
  auto head_params = random_array<float>(3 * s.heads, 65);
  DeviceArray<float> y(tokens * inner), dx(tokens * inner), dbc(tokens * 2 * s.state_dim), ddt(tokens * s.heads);
  DeviceArray<float> dhead(3 * s.heads);
  // B and C side by side in rows of 2N; the head parameters as [dt_bias | A_log | D].
  const int64_t N = s.state_dim, H = s.heads;
  const float* hp = head_params.data();
  const SsdInputs in{x.data(), inner, bc.data(), bc.data() + N, 2 * N, dt.data(), H, hp, hp + H, hp + 2 * H};
  float* dh = dhead.data();
  const SsdGrads grads{dx.data(), inner, dbc.data(), dbc.data() + N, 2 * N, ddt.data(), H, dh, dh + H, dh + 2 * H};
  SsdWorkspace ws;
  const int64_t chunk = 256;
  const GpuTiming fwd = timer.time([&] { SsdKernels::cuda().fwd(in, y.data(), nullptr, ws, s, chunk); });
  const GpuTiming bwd = timer.time([&] { SsdKernels::cuda().bwd(in, dy.data(), grads, ws, s, chunk); });
  const std::string shape = shape_text(kBatch, kLength, s.heads, s.head_dim) + " N=128";
  rows.push_back({"Mamba-2 SSD (fp32) fwd", shape, fwd.median_ms, fwd.median_ms, "ms", 1.40, false});
  rows.push_back({"Mamba-2 SSD (fp32) bwd", shape, bwd.median_ms, bwd.median_ms, "ms", 4.75, false});
}

const GpuBenchGroup kRows("ssm", mamba2_ssd);

}  // namespace
}  // namespace seqbench
