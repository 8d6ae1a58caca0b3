// The Hopper (sm_90a) attention backward against the CPU kernels on fresh seeded inputs: lengths that
// cut the 128-key blocks and the 64/128-query tiles unevenly (1, 63, 65, 130, 257, 1000), batch 1 and
// 2, 3 heads, head dims 64 and 128, causal (softmax_attention_bwd_cpu; float4 and float2 atomic,
// bulk-reduce and deterministic dQ) and full (masked attention with one span [0, L) per query; atomic
// and bulk-reduce dQ); then against the portable bf16 backward at one larger size, and two
// deterministic runs (float4 and float2 atomics taken in turn) compared byte for byte. Every case runs
// the consumer schedules (overlapped: drained at each tile's end, dK or dQ first, with or without D
// folded into dP^T, or not drained, that also with the heavy-first grid order of L2-sized head
// sections and the one-pass preprocess; FlashAttention-3's tile with both; the deterministic dQ of all
// these takes turns between key blocks; and serial, whose deterministic dQ is the portable pass). bf16 tolerance
// 2e-2 on every gradient; at L = 1, dq and dk are exactly zero and bounded instead. Skips on a GPU
// that is not sm_90.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mixers/softmax/hopper_attention_test_cases.h"
#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd.cuh"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::cases_of_this_shard;
using seqbench::testing::describe_hopper_case;
using seqbench::testing::for_each_seeded_case;
using seqbench::testing::hopper_uneven_cases;
using seqbench::testing::kHopperTestHeads;
using bf16 = __nv_bfloat16;

namespace {

// Inputs of one backward, rounded to bf16 on both sides, with the CPU forward's output and lse.
struct BwdProblem {
  AttentionShape s;
  bool causal;
  std::vector<float> q, k, v, dout, out, lse;
  DeviceArray<bf16> q_d, k_d, v_d, dout_d, out_d;
  DeviceArray<float> lse_d;

  BwdProblem(const AttentionShape& shape, bool is_causal, Rng& rng) : s(shape), causal(is_causal) {
    const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim, rows = s.batch * s.heads * s.seq_len;
    q = normal_values(n, rng);
    k = normal_values(n, rng);
    v = normal_values(n, rng);
    dout = normal_values(n, rng);
    q_d = upload_rounded<bf16>(q);
    k_d = upload_rounded<bf16>(k);
    v_d = upload_rounded<bf16>(v);
    dout_d = upload_rounded<bf16>(dout);
    out.resize(n);
    lse.resize(rows);
    if (causal) {
      SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), s);
    } else {
      const std::vector<KeySpan> spans = full_spans();
      MaskedAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(),
                                        SpanTable{spans.data(), 1, false}, s);
    }
    out_d = upload_rounded<bf16>(out);  // both sides differentiate at the stored (rounded) output
    lse_d = DeviceArray<float>(lse);
  }
  std::vector<KeySpan> full_spans() const {
    return std::vector<KeySpan>(static_cast<size_t>(s.seq_len), KeySpan{0, static_cast<int32_t>(s.seq_len)});
  }
  int64_t size() const { return s.batch * s.seq_len * s.heads * s.head_dim; }

  // The CPU gradients: causal, or every query attending to all L keys.
  void cpu_backward(std::vector<float>& dq, std::vector<float>& dk, std::vector<float>& dv) const {
    dq.assign(size(), 0.0f);
    dk.assign(size(), 0.0f);
    dv.assign(size(), 0.0f);
    if (causal)
      return SoftmaxAttentionKernels::cpu().bwd(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(),
                                                dq.data(), dk.data(), dv.data(), s);
    const std::vector<KeySpan> spans = full_spans();
    MaskedAttentionKernels::cpu().bwd(q.data(), k.data(), v.data(), lse.data(), dout.data(), dq.data(), dk.data(),
                                      dv.data(), SpanTable{spans.data(), 1, false}, s);
  }

  // The Hopper backward into fresh (poisoned) gradients, downloaded as dq, dk, dv.
  std::vector<std::vector<bf16>> hopper(const HopperAttentionBwdOptions& options, float* workspace = nullptr) const {
    std::vector<DeviceArray<bf16>> grads;
    for (int i = 0; i < 3; ++i) grads.push_back(poisoned<bf16>(size()));
    softmax_attention_bwd_hopper(q_d.data(), k_d.data(), v_d.data(), out_d.data(), lse_d.data(), dout_d.data(),
                                 grads[0].data(), grads[1].data(), grads[2].data(), s, workspace, options);
    std::vector<std::vector<bf16>> host;
    for (const auto& g : grads) host.push_back(g.download());
    return host;
  }
};

// The ways dQ is summed: float4 or float2 atomics, bulk reduce-adds, or the deterministic pass (causal only).
// bulk_tiled: bulk dQ into the tile-ordered accumulator (FlashAttention-3's tile only, tiled_dq).
enum class DqMode { atomic, atomic_float2, bulk, deterministic, bulk_tiled };
constexpr int kDqModes = 5;
const char* dq_mode_name(DqMode mode) {
  return mode == DqMode::atomic          ? "float4 atomic dQ"
         : mode == DqMode::atomic_float2 ? "float2 atomic dQ"
         : mode == DqMode::bulk          ? "bulk reduce dQ"
         : mode == DqMode::bulk_tiled    ? "bulk reduce dQ, tile-ordered accumulator"
                                         : "deterministic dQ";
}
// The consumer schedules: overlapped (each tile drained at its end: dK before dQ at head_dim 128, or
// dQ first, or D subtracted from dP^T after it; or the first version's tile, S^T left in flight
// across tiles; or that tile with the key blocks launched heavy first in L2-sized sections of heads,
// which the 3-head cases cut into a full section and a short one, also with the one-pass preprocess;
// FlashAttention-3's tile with both, or with a two-slot ring; with bulk dQ FlashAttention-3's tile
// hands dQ to its writer warp), serial.
enum class Schedule {
  overlapped,
  dq_before_dk,
  unfolded_delta,
  undrained,
  heavy_first,
  heavy_first_fused,
  fa3,
  fa3_two_stage,
  serial
};
constexpr Schedule kSchedules[] = {Schedule::overlapped, Schedule::dq_before_dk,  Schedule::unfolded_delta,
                                   Schedule::undrained,  Schedule::heavy_first,   Schedule::heavy_first_fused,
                                   Schedule::fa3,        Schedule::fa3_two_stage, Schedule::serial};
constexpr int kScheduleCount = sizeof(kSchedules) / sizeof(kSchedules[0]);
const char* schedule_name(Schedule schedule) {
  return schedule == Schedule::overlapped       ? "overlapped schedule"
         : schedule == Schedule::dq_before_dk   ? "overlapped schedule, dQ before dK"
         : schedule == Schedule::unfolded_delta ? "overlapped schedule, D subtracted after dP^T"
         : schedule == Schedule::undrained      ? "overlapped schedule, undrained tiles"
         : schedule == Schedule::heavy_first    ? "overlapped schedule, undrained tiles, heavy key blocks first"
         : schedule == Schedule::heavy_first_fused
             ? "overlapped schedule, undrained tiles, heavy key blocks first, one-pass preprocess"
         : schedule == Schedule::fa3 ? "FlashAttention-3's tile, heavy key blocks first, one-pass preprocess"
         : schedule == Schedule::fa3_two_stage
             ? "FlashAttention-3's tile, two-slot ring, heavy key blocks first, one-pass preprocess"
             : "serial schedule";
}
HopperAttentionBwdOptions bwd_options(bool causal, DqMode mode, Schedule schedule) {
  HopperAttentionBwdOptions options;
  options.causal = causal;
  options.overlap = schedule != Schedule::serial;
  const bool heavy_first = schedule == Schedule::heavy_first || schedule == Schedule::heavy_first_fused;
  options.drain_each_tile = schedule != Schedule::undrained && !heavy_first;
  const bool fa3 = schedule == Schedule::fa3 || schedule == Schedule::fa3_two_stage;
  options.l2_sections = heavy_first || fa3;
  options.fused_preprocess = schedule == Schedule::heavy_first_fused || fa3;
  options.fa3_tile = fa3;
  options.two_slot_ring = schedule == Schedule::fa3_two_stage;
  options.fold_delta = schedule != Schedule::unfolded_delta;
  options.dk_before_dq = schedule != Schedule::dq_before_dk;
  options.deterministic = mode == DqMode::deterministic;
  options.bulk_dq = mode == DqMode::bulk || mode == DqMode::bulk_tiled;
  options.tiled_dq = mode == DqMode::bulk_tiled;
  options.float4_dq = mode != DqMode::atomic_float2;
  return options;
}

std::vector<float> to_floats(const std::vector<bf16>& x) {
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = __bfloat162float(x[i]);
  return out;
}

void check_against_cpu(const BwdProblem& p, const HopperAttentionBwdOptions& options) {
  const auto got = p.hopper(options);
  std::vector<float> want_q, want_k, want_v;
  p.cpu_backward(want_q, want_k, want_v);
  const std::vector<float> gq = to_floats(got[0]), gk = to_floats(got[1]), gv = to_floats(got[2]);
  CHECK(relative_error(gv, want_v) < tolerance<bf16>());
  if (p.s.seq_len == 1) {
    // One key: its probability is 1 whatever q and k are, so dq and dk are exactly zero and the
    // kernel returns the rounding residue of dS = dO.v - dO.out. Bound it: |dS| <= eps |dO| |v| per row.
    const double bound = tolerance<bf16>() * l2_norm(p.dout) * l2_norm(p.v) / std::sqrt(double(p.s.head_dim));
    CHECK(l2_norm(gq) < bound * l2_norm(p.k));
    CHECK(l2_norm(gk) < bound * l2_norm(p.q));
    return;
  }
  CHECK(relative_error(gq, want_q) < tolerance<bf16>());
  CHECK(relative_error(gk, want_k) < tolerance<bf16>());
}

}  // namespace

TEST_CASE("the Hopper attention backward matches the CPU kernel, causal and full, at uneven lengths",
          "[gpu][softmax][hopper]") {
  SKIP_WITHOUT_SM90();
  for_each_seeded_case(
      hopper_uneven_cases(), 131, describe_hopper_case, [](int64_t L, int64_t B, int64_t D, bool causal, Rng& rng) {
        const BwdProblem p(AttentionShape{B, L, kHopperTestHeads, D}, causal, rng);
        for (DqMode mode :
             {DqMode::atomic, DqMode::atomic_float2, DqMode::bulk, DqMode::deterministic, DqMode::bulk_tiled})
          for (Schedule schedule : kSchedules) {
            if (mode == DqMode::deterministic && !causal) continue;  // the deterministic dQ pass is causal only
            if (mode == DqMode::bulk && schedule != Schedule::overlapped && schedule != Schedule::heavy_first_fused &&
                schedule != Schedule::fa3 && schedule != Schedule::serial)
              continue;  // bulk dQ has no other tile variants (it takes the grid order and the preprocess;
                         // with FlashAttention-3's tile: its writer warp, hopper_fa3_bulk_dq)
            if (mode == DqMode::bulk_tiled && schedule != Schedule::fa3) continue;  // hopper_fa3_tiled_dq only
            INFO(dq_mode_name(mode) << ", " << schedule_name(schedule));
            check_against_cpu(p, bwd_options(causal, mode, schedule));
          }
      });
}

TEST_CASE("the Hopper attention backward matches the portable bf16 backward at a larger size",
          "[gpu][softmax][hopper]") {
  SKIP_WITHOUT_SM90();
  std::vector<std::pair<int64_t, int>> cases;  // (head_dim, dQ mode x schedule), sliced by SEQBENCH_TEST_SHARD
  for (int64_t D : {64, 128})
    for (int variant = 0; variant < kScheduleCount * kDqModes; ++variant) cases.emplace_back(D, variant);
  for (const auto& [D, variant] : cases_of_this_shard(cases)) {
    const DqMode mode = static_cast<DqMode>(variant / kScheduleCount);
    const Schedule schedule = kSchedules[variant % kScheduleCount];
    const AttentionShape s{2, 2 * 1024 + 77, 4, D};  // 17 key blocks, the last one partial
    INFO("B=2 L=" << s.seq_len << " H=4 D=" << D << " " << dq_mode_name(mode) << ", " << schedule_name(schedule)
                  << " seed=" << 151 + D);
    Rng rng(static_cast<uint64_t>(151 + D));
    const BwdProblem p(s, true, rng);
    DeviceArray<float> workspace(softmax_attention_bwd_workspace_floats(s));
    const bool deterministic = mode == DqMode::deterministic;
    const auto got = p.hopper(bwd_options(true, mode, schedule), workspace.data());
    std::vector<DeviceArray<bf16>> want;
    for (int i = 0; i < 3; ++i) want.push_back(poisoned<bf16>(p.size()));
    softmax_attention_bwd_portable_cuda(p.q_d.data(), p.k_d.data(), p.v_d.data(), p.out_d.data(), p.lse_d.data(),
                                        p.dout_d.data(), want[0].data(), want[1].data(), want[2].data(), s,
                                        workspace.data(),
                                        deterministic ? AttentionBwdMode::deterministic : AttentionBwdMode::atomic);
    for (int i = 0; i < 3; ++i) {
      INFO("gradient d"
           << "qkv"[i]);
      CHECK(relative_error(to_floats(got[i]), download_floats(want[i])) < tolerance<bf16>());
    }
  }
}

TEST_CASE("the Hopper attention backward with deterministic dQ gives bit-identical gradients on every run",
          "[gpu][softmax][hopper]") {
  SKIP_WITHOUT_SM90();
  for (int64_t D : {64, 128})
    for (int variant = 0; variant < 2 * kScheduleCount; ++variant) {
      const Schedule schedule = kSchedules[variant % kScheduleCount];
      const bool float4_dq = variant < kScheduleCount;
      const AttentionShape s{2, 1000, 4, D};
      INFO("B=2 L=1000 H=4 D=" << D << " " << schedule_name(schedule) << (float4_dq ? ", float4" : ", float2")
                               << " atomics seed=" << 171 + D);
      Rng rng(static_cast<uint64_t>(171 + D));
      const BwdProblem p(s, true, rng);
      HopperAttentionBwdOptions options = bwd_options(true, DqMode::deterministic, schedule);
      options.float4_dq = float4_dq;
      const auto first = p.hopper(options), second = p.hopper(options);
      for (int i = 0; i < 3; ++i) {
        INFO("gradient d"
             << "qkv"[i]);
        REQUIRE(first[i].size() == static_cast<size_t>(p.size()));
        CHECK(std::memcmp(first[i].data(), second[i].data(), first[i].size() * sizeof(bf16)) == 0);
      }
    }
}

TEST_CASE("the Hopper attention backward refuses deterministic full attention", "[gpu][softmax][hopper]") {
  SKIP_WITHOUT_SM90();
  Rng rng(191);
  const BwdProblem p(AttentionShape{1, 65, 1, 64}, false, rng);
  HopperAttentionBwdOptions options;
  options.causal = false;
  options.deterministic = true;
  CHECK_THROWS_AS(p.hopper(options), std::invalid_argument);
}
