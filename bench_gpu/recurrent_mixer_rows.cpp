#include "bench_gpu/recurrent_mixer_rows.h"

#include <string>

#include "mixers/delta/delta_rule.h"
#include "mixers/gla/gla.h"
#include "mixers/ssm/ssd.h"

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
  const GpuTiming fwd = timer.time(
      [&] { GlaKernels::cuda().fwd(q.data(), k.data(), v.data(), g.data(), out.data(), states.data(), nullptr, s, o); });
  const std::string what =
      channel ? "per-channel gated linear attention (GLA, fp32)" : "scalar-gated linear attention (fp32)";
  const std::string shape = shape_text(kBatch, kLength, kHeads, kHeadDim);
  rows.push_back({what + " fwd", shape, fwd.median_ms, fwd.median_ms, "ms", channel ? 3.29 : 1.03, false});
  const GpuTiming bwd = timer.time([&] {
    GlaKernels::cuda().bwd(q.data(), k.data(), v.data(), g.data(), states.data(), dout.data(), dq.data(), dk.data(), dv.data(),
                 dg.data(), s, o);
  });
  rows.push_back({what + " bwd", shape, bwd.median_ms, bwd.median_ms, "ms", channel ? 11.34 : 0, false});
}

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
    DeltaRuleKernels::cuda().fwd(q.data(), k.data(), v.data(), beta.data(), nullptr, out.data(), checkpoints.data(), nullptr, s,
                        o);
  });
  const GpuTiming bwd = timer.time([&] {
    delta_rule_bwd_cuda(q.data(), k.data(), v.data(), beta.data(), nullptr, checkpoints.data(), dout.data(), dq.data(),
                        dk.data(), dv.data(), dbeta.data(), nullptr, s, o, workspace.data());
  });
  const std::string shape = shape_text(kBatch, kLength, kHeads, kHeadDim);
  rows.push_back({"delta rule (DeltaNet, fp32) fwd", shape, fwd.median_ms, fwd.median_ms, "ms", 2.37, false});
  rows.push_back({"delta rule (DeltaNet, fp32) bwd", shape, bwd.median_ms, bwd.median_ms, "ms", 5.41, false});
}

void mamba2_ssd(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  const SsdShape s{kBatch, kLength, 32, 64, 128};
  const int64_t tokens = kBatch * kLength, inner = s.heads * s.head_dim;
  auto x = random_array<float>(tokens * inner, 61), bc = random_array<float>(tokens * 2 * s.state_dim, 62);
  auto dt = random_array<float>(tokens * s.heads, 63), dy = random_array<float>(tokens * inner, 64);
  auto head_params = random_array<float>(3 * s.heads, 65);
  DeviceArray<float> y(tokens * inner), dx(tokens * inner), dbc(tokens * 2 * s.state_dim), ddt(tokens * s.heads);
  DeviceArray<float> dhead(3 * s.heads);
  SsdInputs in;
  in.x = x.data();
  in.x_stride = inner;
  in.b = bc.data();
  in.c = bc.data() + s.state_dim;
  in.bc_stride = 2 * s.state_dim;
  in.dt_raw = dt.data();
  in.dt_stride = s.heads;
  in.dt_bias = head_params.data();
  in.a_log = head_params.data() + s.heads;
  in.d_skip = head_params.data() + 2 * s.heads;
  SsdGrads grads;
  grads.dx = dx.data();
  grads.dx_stride = inner;
  grads.db = dbc.data();
  grads.dc = dbc.data() + s.state_dim;
  grads.dbc_stride = 2 * s.state_dim;
  grads.ddt_raw = ddt.data();
  grads.ddt_stride = s.heads;
  grads.ddt_bias = dhead.data();
  grads.da_log = dhead.data() + s.heads;
  grads.dd_skip = dhead.data() + 2 * s.heads;
  SsdWorkspace ws;
  const int64_t chunk = 256;
  const GpuTiming fwd = timer.time([&] { SsdKernels::cuda().fwd(in, y.data(), nullptr, ws, s, chunk); });
  const GpuTiming bwd = timer.time([&] { SsdKernels::cuda().bwd(in, dy.data(), grads, ws, s, chunk); });
  const std::string shape = shape_text(kBatch, kLength, s.heads, s.head_dim) + " N=128";
  rows.push_back({"Mamba-2 SSD (fp32) fwd", shape, fwd.median_ms, fwd.median_ms, "ms", 1.40, false});
  rows.push_back({"Mamba-2 SSD (fp32) bwd", shape, bwd.median_ms, bwd.median_ms, "ms", 4.75, false});
}

}  // namespace

void recurrent_mixer_rows(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  gated_linear_attention(timer, rows, true);
  gated_linear_attention(timer, rows, false);
  delta_rule(timer, rows);
  mamba2_ssd(timer, rows);
}

}  // namespace seqbench
