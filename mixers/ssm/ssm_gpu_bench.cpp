// seqbench_gpu_bench rows for Mamba-2's SSD at ANCHORS.md's shapes (B*L = 65536 tokens, 32 heads of
// 64, state 128, one B/C group, chunk 256) for each bench length, forward and backward: fp32, and the
// scan in bf16 on the scalar-decay GLA tensor-core kernels (64-token chunks); and the decode step (fp32)
// for batches of 16 and 1. Anchors: mamba_ssm's mamba_chunk_scan_combined and selective_state_update
// (Triton, bf16 inputs; the decode step against a fp32 state).
#include <cuda_bf16.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "mixers/ssm/ssd.h"
#include "mixers/ssm/ssd_bf16.cuh"

namespace seqbench {
namespace {

constexpr int64_t kChunk = 256;

void mamba2_ssd_at(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, int64_t L) {
  const SsdShape s{{kBenchTokens / L, L, 32}, 64, 128};
  const int64_t tokens = s.tokens(), inner = s.heads * s.head_dim;
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
  const GpuTiming fwd = timer.time([&] { SsdKernels::cuda().fwd(in, y.data(), nullptr, ws, s, kChunk); });
  const GpuTiming bwd = timer.time([&] { SsdKernels::cuda().bwd(in, dy.data(), grads, ws, s, kChunk); });
  // C and B play q and k (one group for every head), x plays v, dt is the scalar gate.
  auto work_shape = [&](int64_t element_bytes) {
    return ScanWorkShape{s.batch, L, H, N, s.head_dim, kChunk, 1, 1, false, element_bytes, 4};
  };
  const std::string shape = shape_text(s.batch, L, H, s.head_dim) + " N=128";
  auto add = [&](const char* pass, const GpuTiming& timing, WorkPass work_pass) {
    const std::string key = bench_key("ssd", pass, L);
    rows.push_back(timed_row(key, key, "ssm", std::string("Mamba-2 SSD ") + pass, shape, "fp32", L, timing,
                             chunked_scan_work(work_shape(4), work_pass), chunked_scan_work(work_shape(2), work_pass)));
  };
  add("fwd", fwd, WorkPass::forward);
  add("bwd", bwd, WorkPass::backward);
}

// The scan alone in bf16 on the GLA tensor-core kernels, B and C shared by all heads (one group).
// Forward without states kept (the anchor recomputes them in backward), then with them; backward
// from a forward that kept them.
void mamba2_ssd_bf16(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, int64_t L) {
  using bf16 = __nv_bfloat16;
  const SsdBf16Shape s{kBenchTokens / L, L, 32, 64, 128, 1};
  const int64_t tokens = kBenchTokens, xs = tokens * s.heads * s.head_dim, bcs = tokens * s.state_dim;
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
      std::string("Mamba-2 SSD (tensor cores, ") + gla_scalar_fwd_variant_name(variant) + ") ";
  const std::string shape = shape_text(s.batch, L, s.heads, s.head_dim) + " N=128";
  auto work_shape = [&](int64_t chunk) {
    return ScanWorkShape{s.batch, L, s.heads, s.state_dim, s.head_dim, chunk, 1, 1, false, 2, 4};
  };
  auto add = [&](const std::string& pass, const char* anchor_pass, const GpuTiming& timing, WorkPass work_pass) {
    const std::string anchor_key = anchor_pass ? bench_key("ssd", anchor_pass, L) : "";
    rows.push_back(timed_row(bench_key("ssd_bf16", pass, L), anchor_key, "ssm", what + pass, shape, "bf16", L, timing,
                             chunked_scan_work(work_shape(64), work_pass),
                             chunked_scan_work(work_shape(kChunk), work_pass)));
  };
  add("fwd", "fwd", fwd, WorkPass::forward);
  add("fwd_keep_states", nullptr, fwd_keep, WorkPass::forward);
  add("bwd", "bwd", bwd, WorkPass::backward);
}

// One decode step, y_t = C^T h_t + D x_t: the state [B, H, N, P] read and written in place.
void mamba2_ssd_decode(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, int64_t batch) {
  const SsdShape s{{batch, 1, 32}, 64, 128};
  const int64_t inner = s.heads * s.head_dim, N = s.state_dim, H = s.heads;
  auto x = random_array<float>(batch * inner, 81), bc = random_array<float>(batch * 2 * N, 82);
  auto dt = random_array<float>(batch * H, 83), head_params = random_array<float>(3 * H, 84);
  auto state = random_array<float>(batch * H * N * s.head_dim, 85);
  DeviceArray<float> y(batch * inner);
  const float* hp = head_params.data();
  const SsdInputs in{x.data(), inner, bc.data(), bc.data() + N, 2 * N, dt.data(), H, hp, hp + H, hp + 2 * H};
  SsdWorkspace ws;
  auto step = [&] { SsdKernels::cuda().decode(in, state.data(), y.data(), ws, s); };
  step();  // sizes the workspace's scan inputs, so no timed call allocates
  const GpuTiming t = timer.time(step);
  auto work_shape = [&](int64_t element_bytes) {
    return ScanWorkShape{batch, 1, H, N, s.head_dim, 1, 1, 1, false, element_bytes, 4};
  };
  const std::string key = decode_key("ssd", batch);
  rows.push_back(timed_row(key, key, "ssm", "Mamba-2 SSD decode step",
                           shape_text(batch, 1, H, s.head_dim) + " N=128 (state only)", "fp32", 1, t,
                           chunked_scan_work(work_shape(4), WorkPass::decode_step),
                           chunked_scan_work(work_shape(2), WorkPass::decode_step)));
}

void ssm_rows(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  for (int64_t L : bench_lengths()) {
    mamba2_ssd_at(timer, rows, L);
    mamba2_ssd_bf16(timer, rows, L);
  }
  for (int64_t batch : decode_batches()) mamba2_ssd_decode(timer, rows, batch);
}

const GpuBenchGroup kRows("ssm", ssm_rows);

}  // namespace
}  // namespace seqbench
