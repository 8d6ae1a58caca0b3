// seqbench_gpu_bench rows for Mamba-2's SSD at ANCHORS.md's shape (B=16, L=4096, 32 heads of 64,
// state 128, chunk 256), forward and backward, fp32 (the anchor is mamba_ssm's Triton kernel).
#include <cuda_bf16.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "mixers/ssm/ssd.h"
#include "mixers/ssm/ssd_bf16.cuh"

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

// The scan alone in bf16 on the GLA tensor-core kernels, B and C shared by all heads (one group), against
// mamba_chunk_scan_combined (1.18 ms forward, 4.14 ms backward on this GPU). Forward without states kept (the
// anchor recomputes them in backward), then with them; backward from a forward that kept them.
void mamba2_ssd_bf16(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  using bf16 = __nv_bfloat16;
  const SsdBf16Shape s{kBatch, kLength, 32, 64, 128, 1};
  const int64_t tokens = kBatch * kLength, xs = tokens * s.heads * s.head_dim, bcs = tokens * s.state_dim;
  auto x = random_array<bf16>(xs, 71), b = random_array<bf16>(bcs, 72), c = random_array<bf16>(bcs, 73);
  auto dy = random_array<bf16>(xs, 74);
  DeviceArray<float> dt(tokens * s.heads), a(s.heads), ddt(tokens * s.heads), da(s.heads);
  fill_normal_cuda(dt.data(), tokens * s.heads, 75, 0.01f);  // timing does not depend on the values
  fill_normal_cuda(a.data(), s.heads, 76, 0.01f);
  DeviceArray<float> workspace(ssd_bf16_workspace_floats(s));
  DeviceArray<bf16> y(xs), dx(xs), db(bcs), dc(bcs), states(ssd_bf16_chunk_state_elements(s));
  const GlaScalarFwdVariant variant = gla_scalar_fwd_variant();
  auto forward = [&](bf16* keep) {
    ssd_bf16_fwd_cuda(x.data(), dt.data(), a.data(), b.data(), c.data(), y.data(), keep, nullptr, workspace.data(), s,
                      variant);
  };
  const GpuTiming fwd = timer.time([&] { forward(nullptr); });
  const GpuTiming fwd_keep = timer.time([&] { forward(states.data()); });
  const GpuTiming bwd = timer.time([&] {
    ssd_bf16_bwd_cuda(x.data(), dt.data(), a.data(), b.data(), c.data(), states.data(), dy.data(), dx.data(),
                      ddt.data(), da.data(), db.data(), dc.data(), workspace.data(), s);
  });
  const std::string what =
      std::string("Mamba-2 SSD (bf16, tensor cores, ") + gla_scalar_fwd_variant_name(variant) + ")";
  const std::string shape = shape_text(kBatch, kLength, s.heads, s.head_dim) + " N=128";
  rows.push_back({what + " fwd", shape, fwd.median_ms, fwd.median_ms, "ms", 1.18, false});
  rows.push_back({what + " fwd keeping states", shape, fwd_keep.median_ms, fwd_keep.median_ms, "ms", 0, false});
  rows.push_back({what + " bwd", shape, bwd.median_ms, bwd.median_ms, "ms", 4.14, false});
}

void ssm_rows(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  mamba2_ssd(timer, rows);
  mamba2_ssd_bf16(timer, rows);
}

const GpuBenchGroup kRows("ssm", ssm_rows);

}  // namespace
}  // namespace seqbench
