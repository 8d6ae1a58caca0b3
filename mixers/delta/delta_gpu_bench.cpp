// seqbench_gpu_bench rows for the delta rule at ANCHORS.md's shapes (B*L = 65536 tokens, 16 heads
// of 128) for each bench length: DeltaNet and Gated DeltaNet, forward and backward, the exact fp32
// recurrence (delta.*, gated_delta.*) and the bf16 tensor-core WY form (delta_bf16.*, gated_delta_bf16.*);
// and each one's decode step for batches of 16 and 1. Anchors: flash-linear-attention's chunk_delta_rule,
// chunk_gated_delta_rule, fused_recurrent_delta_rule and fused_recurrent_gated_delta_rule in bf16. Both
// sides' training FLOPs are counted for the chunked WY form with 64-token chunks (the anchors' algorithm),
// so the rates compare even though the fp32 kernels run the exact recurrence.
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "mixers/delta/delta_rule.h"
#include "mixers/delta/delta_rule_bf16.cuh"
#include "ops/rng.h"

namespace seqbench {
namespace {

void delta_rule_at(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, int64_t L, bool gated) {
  const DeltaRuleShape s{{kBenchTokens / L, L, kBenchHeads}, kBenchHeadDim, kBenchHeadDim};
  const DeltaRuleOptions o;
  const int64_t n = s.tokens() * s.heads * s.key_dim, nb = s.tokens() * s.heads;
  // Unit-norm keys (as the l2 gate leaves them) keep the recurrence contractive; 1/sqrt(D) scale
  // gives random vectors roughly that norm.
  auto q = random_array<float>(n, 51), v = random_array<float>(n, 53), dout = random_array<float>(n, 54);
  DeviceArray<float> k(n), beta(nb), log_decay(gated ? nb : 1), dlog_decay(gated ? nb : 1);
  fill_normal_cuda(k.data(), n, 52, 1.0f / 11.3137f);
  fill_normal_cuda(beta.data(), nb, 55, 0.1f);
  if (gated) fill_normal_cuda(log_decay.data(), nb, 56, 0.01f);  // decays near 1: timing does not depend on them
  const float* g = gated ? log_decay.data() : nullptr;
  DeviceArray<float> out(n), dq(n), dk(n), dv(n), dbeta(nb);
  DeviceArray<float> checkpoints(s.batch * s.heads * delta_rule_checkpoint_count(s, o) * s.key_dim * s.value_dim);
  DeviceArray<float> workspace(delta_rule_bwd_workspace_floats(s, o));
  const GpuTiming fwd = timer.time([&] {
    DeltaRuleKernels::cuda().fwd(q.data(), k.data(), v.data(), beta.data(), g, out.data(), checkpoints.data(), nullptr,
                                 s, o);
  });
  const GpuTiming bwd = timer.time([&] {
    delta_rule_bwd_cuda(q.data(), k.data(), v.data(), beta.data(), g, checkpoints.data(), dout.data(), dq.data(),
                        dk.data(), dv.data(), dbeta.data(), gated ? dlog_decay.data() : nullptr, s, o,
                        workspace.data());
  });
  auto work_shape = [&](int64_t element_bytes) {
    return ScanWorkShape{s.batch, L,    s.heads,       s.key_dim, s.value_dim, 64, gated ? 1 : 0,
                         s.heads, true, element_bytes, 4};
  };
  const std::string family = gated ? "gated_delta" : "delta";
  const std::string what = gated ? "gated delta rule (Gated DeltaNet) " : "delta rule (DeltaNet) ";
  auto add = [&](const char* pass, const GpuTiming& timing, WorkPass work_pass) {
    const std::string key = bench_key(family, pass, L);
    rows.push_back(timed_row(key, key, "delta", what + pass, shape_text(s.batch, L, s.heads, s.key_dim), "fp32", L,
                             timing, chunked_scan_work(work_shape(4), work_pass),
                             chunked_scan_work(work_shape(2), work_pass)));
  };
  add("fwd", fwd, WorkPass::forward);
  add("bwd", bwd, WorkPass::backward);
}

// One decode step of the (gated) delta rule: the state [B, H, Dk, Dv] read and written in place.
void decode_step(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, int64_t batch, bool gated) {
  const DeltaRuleShape s{{batch, 1, kBenchHeads}, kBenchHeadDim, kBenchHeadDim};
  const int64_t n = batch * s.heads * s.key_dim, nb = batch * s.heads;
  auto q = random_array<float>(n, 57), v = random_array<float>(n, 59);
  auto state = random_array<float>(n * s.value_dim, 60);
  DeviceArray<float> k(n), beta(nb), log_decay(gated ? nb : 1), out(n);
  fill_normal_cuda(k.data(), n, 58, 1.0f / 11.3137f);  // unit-norm keys, as in training
  fill_normal_cuda(beta.data(), nb, 61, 0.1f);
  if (gated) fill_normal_cuda(log_decay.data(), nb, 62, 0.01f);  // timing does not depend on the values
  const float* g = gated ? log_decay.data() : nullptr;
  const GpuTiming t = timer.time([&] {
    DeltaRuleKernels::cuda().decode(q.data(), k.data(), v.data(), beta.data(), g, state.data(), out.data(), s);
  });
  auto work_shape = [&](int64_t element_bytes) {
    return ScanWorkShape{batch, 1, s.heads, s.key_dim, s.value_dim, 1, gated ? 1 : 0, s.heads, true, element_bytes, 4};
  };
  const std::string key = decode_key(gated ? "gated_delta" : "delta", batch);
  const char* what = gated ? "gated delta rule (Gated DeltaNet) decode step" : "delta rule (DeltaNet) decode step";
  rows.push_back(timed_row(key, key, "delta", what, shape_text(batch, 1, s.heads, s.key_dim) + " (state only)", "fp32",
                           1, t, chunked_scan_work(work_shape(4), WorkPass::decode_step),
                           chunked_scan_work(work_shape(2), WorkPass::decode_step)));
}

// The anchor script's gates: beta uniform in (0, 1), log decays log sigmoid(N(0, 1)).
DeviceArray<float> anchor_gates(int64_t n, uint64_t seed, bool log_decay) {
  Rng rng(seed);
  std::vector<float> x(n);
  for (float& value : x)
    value = log_decay ? static_cast<float>(-std::log1p(std::exp(-rng.normal()))) : static_cast<float>(rng.uniform());
  return DeviceArray<float>(x);
}

void delta_rule_bf16_at(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, int64_t L, bool gated) {
  using bf16 = __nv_bfloat16;
  const DeltaRuleShape s{{kBenchTokens / L, L, kBenchHeads}, kBenchHeadDim, kBenchHeadDim};
  const int64_t n = s.tokens() * s.heads * s.key_dim, nb = s.tokens() * s.heads;
  auto q = random_array<bf16>(n, 61), v = random_array<bf16>(n, 63), dout = random_array<bf16>(n, 64);
  DeviceArray<bf16> k(n);
  fill_normal_cuda(k.data(), n, 62, 1.0f / std::sqrt(static_cast<float>(s.key_dim)));  // |k| ~ 1, as normalised
  DeviceArray<float> beta = anchor_gates(nb, 65, false);
  DeviceArray<float> log_decay = gated ? anchor_gates(nb, 66, true) : DeviceArray<float>(1);
  const float* g = gated ? log_decay.data() : nullptr;
  DeviceArray<bf16> out(n), states(delta_rule_tc_chunk_state_elements(s));
  DeviceArray<float> workspace(delta_rule_tc_workspace_floats(s));
  const GpuTiming fwd = timer.time([&] {
    delta_rule_tc_fwd_cuda(q.data(), k.data(), v.data(), beta.data(), g, out.data(), states.data(), nullptr,
                           workspace.data(), s);
  });
  DeviceArray<bf16> dq(n), dk(n), dv(n);
  DeviceArray<float> dbeta(nb), dlog_decay(gated ? nb : 1);
  const GpuTiming bwd = timer.time([&] {
    delta_rule_tc_bwd_cuda(q.data(), k.data(), v.data(), beta.data(), g, states.data(), dout.data(), dq.data(),
                           dk.data(), dv.data(), dbeta.data(), gated ? dlog_decay.data() : nullptr, workspace.data(),
                           s);
  });
  auto work_shape = ScanWorkShape{s.batch, L, s.heads, s.key_dim, s.value_dim, 64, gated ? 1 : 0, s.heads, true, 2, 2};
  const std::string family = gated ? "gated_delta" : "delta";
  const std::string variant = delta_rule_tc_variant_name(delta_rule_tc_variant()) + ") ";
  const std::string what = std::string(gated ? "gated delta rule (Gated DeltaNet, " : "delta rule (DeltaNet, ") +
                           "bf16 tensor cores, WY form, " + variant;
  auto add = [&](const char* pass, const GpuTiming& timing, WorkPass work_pass) {
    const WorkCount work = chunked_scan_work(work_shape, work_pass);
    rows.push_back(timed_row(bench_key(family + "_bf16", pass, L), bench_key(family, pass, L), "delta", what + pass,
                             shape_text(s.batch, L, s.heads, s.key_dim), "bf16", L, timing, work, work));
  };
  add("fwd", fwd, WorkPass::forward);
  add("bwd", bwd, WorkPass::backward);
}

void delta_rows(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  for (int64_t L : bench_lengths()) {
    delta_rule_at(timer, rows, L, false);
    delta_rule_at(timer, rows, L, true);
    delta_rule_bf16_at(timer, rows, L, false);
    delta_rule_bf16_at(timer, rows, L, true);
  }
  for (bool gated : {false, true})
    for (int64_t batch : decode_batches()) decode_step(timer, rows, batch, gated);
}

const GpuBenchGroup kRows("delta", delta_rows);

}  // namespace
}  // namespace seqbench
