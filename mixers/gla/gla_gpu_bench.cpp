// seqbench_gpu_bench rows for gated linear attention at ANCHORS.md's shapes (B*L = 65536 tokens, 16
// heads of 128) for each bench length: per-channel (GLA) and scalar (Mamba-2-like) decay, forward
// and backward, fp32; both decays in bf16 on tensor cores; and the decode step of either decay for
// batches of 16 and 1. Anchors: flash-linear-attention's chunk_gla, chunk_simple_gla,
// fused_recurrent_gla and fused_recurrent_simple_gla in bf16.
#include <cuda_bf16.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "mixers/gla/gla.h"
#include "mixers/gla/gla_channel_bf16.cuh"
#include "mixers/gla/gla_scalar_bf16.cuh"

namespace seqbench {
namespace {

constexpr float kScale = 1.0f / 11.3137f;  // key_dim^-1/2

ScanWorkShape gla_work_shape(const GlaShape& s, int64_t chunk, int64_t element_bytes) {
  return {s.batch, s.seq_len, s.heads, s.key_dim, s.value_dim, chunk, s.decay_width(), s.heads, false, element_bytes, 4};
}

void gated_linear_attention(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, int64_t L, bool channel) {
  const GlaShape s{{kBenchTokens / L, L, kBenchHeads}, kBenchHeadDim, kBenchHeadDim, channel};
  GlaOptions o;
  o.scale = kScale;
  const int64_t n = s.tokens() * s.heads * s.key_dim, ng = s.tokens() * s.heads * s.decay_width();
  auto q = random_array<float>(n, 41), k = random_array<float>(n, 42), v = random_array<float>(n, 43);
  auto dout = random_array<float>(n, 44);
  DeviceArray<float> g(ng);
  fill_normal_cuda(g.data(), ng, 45, 0.01f);  // log decays near 0: timing does not depend on them
  DeviceArray<float> out(n), dq(n), dk(n), dv(n), dg(ng);
  DeviceArray<float> states(s.batch * s.heads * gla_num_chunks(L, o.chunk_size) * s.key_dim * s.value_dim);
  const GpuTiming fwd = timer.time([&] {
    GlaKernels::cuda().fwd(q.data(), k.data(), v.data(), g.data(), out.data(), states.data(), nullptr, s, o);
  });
  const GpuTiming bwd = timer.time([&] {
    GlaKernels::cuda().bwd(q.data(), k.data(), v.data(), g.data(), states.data(), dout.data(), dq.data(), dk.data(),
                           dv.data(), dg.data(), s, o);
  });
  const std::string family = channel ? "gla" : "gla_scalar";
  const std::string what = channel ? "per-channel gated linear attention (GLA) " : "scalar-gated linear attention ";
  auto add = [&](const char* pass, const GpuTiming& timing, WorkPass work_pass) {
    const std::string key = bench_key(family, pass, L);
    rows.push_back(timed_row(key, key, "gla", what + pass, shape_text(s.batch, L, s.heads, s.key_dim), "fp32", L,
                             timing, chunked_scan_work(gla_work_shape(s, o.chunk_size, 4), work_pass),
                             chunked_scan_work(gla_work_shape(s, 64, 2), work_pass)));
  };
  add("fwd", fwd, WorkPass::forward);
  add("bwd", bwd, WorkPass::backward);
}

// One decode step of GLA, per-channel or scalar decay: the state [B, H, Dk, Dv] read and written in place.
void decode_step(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, int64_t batch, bool channel) {
  const GlaShape s{{batch, 1, kBenchHeads}, kBenchHeadDim, kBenchHeadDim, channel};
  GlaOptions o;
  o.scale = kScale;
  const int64_t n = batch * s.heads * s.key_dim, ng = batch * s.heads * s.decay_width();
  auto q = random_array<float>(n, 46), k = random_array<float>(n, 47), v = random_array<float>(n, 48);
  auto state = random_array<float>(n * s.value_dim, 49);
  DeviceArray<float> g(ng), out(n);
  fill_normal_cuda(g.data(), ng, 50, 0.01f);
  const GpuTiming t = timer.time(
      [&] { GlaKernels::cuda().decode(q.data(), k.data(), v.data(), g.data(), state.data(), out.data(), s, o); });
  const std::string key = decode_key(channel ? "gla" : "gla_scalar", batch);
  const char* what = channel ? "per-channel gated linear attention (GLA) decode step"
                             : "scalar-gated linear attention decode step";
  rows.push_back(timed_row(key, key, "gla", what, shape_text(batch, 1, s.heads, s.key_dim) + " (state only)", "fp32",
                           1, t, chunked_scan_work(gla_work_shape(s, 1, 4), WorkPass::decode_step),
                           chunked_scan_work(gla_work_shape(s, 1, 2), WorkPass::decode_step)));
}

// The three timings of a bf16 tensor-core GLA as rows <family>.fwd, .fwd_keep_states and .bwd, the first and
// last anchored on <anchor_family>.fwd and .bwd.
struct Bf16Timings {
  GpuTiming fwd, fwd_keep_states, bwd;
};

void add_bf16_rows(std::vector<AnchorRow>& rows, const GlaShape& s, const std::string& family,
                   const std::string& anchor_family, const std::string& what, const Bf16Timings& t) {
  const std::string shape = shape_text(s.batch, s.seq_len, s.heads, s.key_dim);
  auto add = [&](const std::string& pass, const char* anchor_pass, const GpuTiming& timing, WorkPass work_pass) {
    const std::string anchor_key = anchor_pass ? bench_key(anchor_family, anchor_pass, s.seq_len) : "";
    const WorkCount work = chunked_scan_work(gla_work_shape(s, 64, 2), work_pass);
    rows.push_back(timed_row(bench_key(family, pass, s.seq_len), anchor_key, "gla", what + pass, shape, "bf16",
                             s.seq_len, timing, work, work));
  };
  add("fwd", "fwd", t.fwd, WorkPass::forward);
  add("fwd_keep_states", nullptr, t.fwd_keep_states, WorkPass::forward);
  add("bwd", "bwd", t.bwd, WorkPass::backward);
}

// The scalar decay in bf16 on tensor cores. The forward as FLA's chunk_simple_gla times it (its
// backward recomputes the states), the forward a training step runs (keeping every chunk's start
// state), and the backward (FLA's does not run on Hopper with Triton 3.6: no anchor).
void scalar_gated_bf16(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, int64_t L) {
  using bf16 = __nv_bfloat16;
  const GlaShape s{{kBenchTokens / L, L, kBenchHeads}, kBenchHeadDim, kBenchHeadDim, false};
  GlaOptions o;
  o.scale = kScale;
  const int64_t n = s.tokens() * s.heads * s.key_dim, ng = s.tokens() * s.heads;
  auto q = random_array<bf16>(n, 51), k = random_array<bf16>(n, 52), v = random_array<bf16>(n, 53);
  auto dout = random_array<bf16>(n, 54);
  DeviceArray<float> g(ng), dg(ng), workspace(gla_scalar_workspace_floats(s));
  fill_normal_cuda(g.data(), ng, 55, 0.01f);  // log decays near 0: timing does not depend on them
  DeviceArray<bf16> out(n), dq(n), dk(n), dv(n), states(gla_scalar_chunk_state_elements(s));
  const GlaScalarFwdVariant variant = gla_scalar_fwd_variant();
  auto forward = [&](bf16* keep) {
    gla_scalar_fwd_cuda(q.data(), k.data(), v.data(), g.data(), out.data(), keep, nullptr, workspace.data(), s, o,
                        variant);
  };
  Bf16Timings t;
  t.fwd = timer.time([&] { forward(nullptr); });
  t.fwd_keep_states = timer.time([&] { forward(states.data()); });
  t.bwd = timer.time([&] {
    gla_scalar_bwd_cuda(q.data(), k.data(), v.data(), g.data(), states.data(), dout.data(), dq.data(), dk.data(),
                        dv.data(), dg.data(), workspace.data(), s, o);
  });
  add_bf16_rows(rows, s, "gla_scalar_bf16", "gla_scalar",
                std::string("scalar-gated linear attention (tensor cores, ") + gla_scalar_fwd_variant_name(variant) +
                    ") ",
                t);
}

// The per-channel decay (GLA) in bf16 on tensor cores, timed as scalar_gated_bf16 times the scalar one: the
// forward as FLA's chunk_gla times it, the forward a training step runs (keeping every chunk's start state),
// and the backward; anchors FLA's chunk_gla forward and backward.
void channel_gated_bf16(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, int64_t L) {
  using bf16 = __nv_bfloat16;
  const GlaShape s{{kBenchTokens / L, L, kBenchHeads}, kBenchHeadDim, kBenchHeadDim, true};
  GlaOptions o;
  o.scale = kScale;
  const int64_t n = s.tokens() * s.heads * s.key_dim;
  auto q = random_array<bf16>(n, 61), k = random_array<bf16>(n, 62), v = random_array<bf16>(n, 63);
  auto dout = random_array<bf16>(n, 64);
  DeviceArray<float> g(n), dg(n), workspace(gla_channel_workspace_floats(s));
  fill_normal_cuda(g.data(), n, 65, 0.01f);  // log decays near 0: timing does not depend on them
  DeviceArray<bf16> out(n), dq(n), dk(n), dv(n), states(gla_channel_chunk_state_elements(s));
  const GlaChannelVariant variant = gla_channel_variant();
  auto forward = [&](bf16* keep) {
    gla_channel_fwd_cuda(q.data(), k.data(), v.data(), g.data(), out.data(), keep, nullptr, workspace.data(), s, o,
                         variant);
  };
  Bf16Timings t;
  t.fwd = timer.time([&] { forward(nullptr); });
  t.fwd_keep_states = timer.time([&] { forward(states.data()); });
  t.bwd = timer.time([&] {
    gla_channel_bwd_cuda(q.data(), k.data(), v.data(), g.data(), states.data(), dout.data(), dq.data(), dk.data(),
                         dv.data(), dg.data(), workspace.data(), s, o, variant);
  });
  add_bf16_rows(rows, s, "gla_bf16", "gla",
                "per-channel gated linear attention (GLA, tensor cores, " + gla_channel_variant_name(variant) + ") ", t);
}

void gla_rows(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  for (int64_t L : bench_lengths()) {
    gated_linear_attention(timer, rows, L, true);
    gated_linear_attention(timer, rows, L, false);
    scalar_gated_bf16(timer, rows, L);
    channel_gated_bf16(timer, rows, L);
  }
  for (bool channel : {false, true})
    for (int64_t batch : decode_batches()) decode_step(timer, rows, batch, channel);
}

const GpuBenchGroup kRows("gla", gla_rows);

}  // namespace
}  // namespace seqbench
