// seqbench_gpu_bench rows for Mamba-2's SSD at ANCHORS.md's shapes (B*L = 65536 tokens, 32 heads of
// 64, state 128, one B/C group, chunk 256) for each bench length, forward and backward, fp32.
// Anchor: mamba_ssm's mamba_chunk_scan_combined (Triton, bf16).
#include <cstdint>
#include <string>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "mixers/ssm/ssd.h"

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

void ssm_rows(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  for (int64_t L : bench_lengths()) mamba2_ssd_at(timer, rows, L);
}

const GpuBenchGroup kRows("ssm", ssm_rows);

}  // namespace
}  // namespace seqbench
