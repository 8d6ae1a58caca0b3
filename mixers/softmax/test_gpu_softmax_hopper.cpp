// The Hopper (sm_90a) attention forward against the CPU kernels on fresh seeded inputs: lengths that
// cut the 128-query and 128-key tiles unevenly (1, 63, 65, 130, 257, 1000), batch 1 and 2, 3 heads,
// head dims 64 and 128, causal (softmax_attention_fwd_cpu) and full (masked attention with one span
// [0, L) per query), in each schedule, one CTA per tile and persistent (hopper_attention_schedules.h);
// then against the portable bf16 forward at one larger size. bf16 tolerance 2e-2 on the output, 1e-5 on the
// log-sum-exp. Skips on a GPU that is not sm_90.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mixers/softmax/hopper_attention_schedules.h"
#include "mixers/softmax/hopper_attention_test_cases.h"
#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_hopper.cuh"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::cases_of_this_shard;
using seqbench::testing::describe_hopper_case;
using seqbench::testing::describe_hopper_schedule;
using seqbench::testing::for_each_seeded_case;
using seqbench::testing::hopper_forward_schedules;
using seqbench::testing::hopper_uneven_cases;
using seqbench::testing::kHopperTestHeads;
using bf16 = __nv_bfloat16;

namespace {

// The CPU forward: causal, or every query attending to all L keys.
void cpu_forward(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                 std::vector<float>& out, std::vector<float>& lse, const AttentionShape& s, bool causal) {
  if (causal) return SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), s);
  const std::vector<KeySpan> spans(static_cast<size_t>(s.seq_len), KeySpan{0, static_cast<int32_t>(s.seq_len)});
  MaskedAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(),
                                    SpanTable{spans.data(), 1, false}, s);
}

}  // namespace

TEST_CASE("the Hopper attention forward matches the CPU kernel, causal and full, at uneven lengths",
          "[gpu][softmax][hopper]") {
  SKIP_WITHOUT_SM90();
  for_each_seeded_case(
      hopper_uneven_cases(), 71, describe_hopper_case, [](int64_t L, int64_t B, int64_t D, bool causal, Rng& rng) {
        AttentionShape s;
        s.batch = B;
        s.seq_len = L;
        s.heads = kHopperTestHeads;
        s.head_dim = D;
        const int64_t n = B * L * s.heads * D, rows = B * s.heads * L;
        std::vector<float> q = normal_values(n, rng), k = normal_values(n, rng), v = normal_values(n, rng);
        auto q_d = upload_rounded<bf16>(q), k_d = upload_rounded<bf16>(k), v_d = upload_rounded<bf16>(v);
        std::vector<float> want_out(n), want_lse(rows);
        cpu_forward(q, k, v, want_out, want_lse, s, causal);
        for (const HopperAttentionOptions& schedule : hopper_forward_schedules(causal)) {
          INFO(describe_hopper_schedule(schedule));
          auto out = poisoned<bf16>(n);
          auto lse = poisoned<float>(rows);
          softmax_attention_fwd_hopper(q_d.data(), k_d.data(), v_d.data(), out.data(), lse.data(), s, schedule);
          CHECK(relative_error(download_floats(out), want_out) < tolerance<bf16>());
          CHECK(relative_error(lse.download(), want_lse) < 1e-5);
        }
      });
}

TEST_CASE("the Hopper attention forward matches the portable bf16 forward at a larger size", "[gpu][softmax][hopper]") {
  SKIP_WITHOUT_SM90();
  std::vector<std::pair<int64_t, HopperAttentionOptions>> cases;  // sliced by SEQBENCH_TEST_SHARD
  for (int64_t D : {64, 128})
    for (const HopperAttentionOptions& schedule : hopper_forward_schedules(true)) cases.emplace_back(D, schedule);
  for (const auto& [D, schedule] : cases_of_this_shard(cases)) {
    AttentionShape s;
    s.batch = 2;
    s.seq_len = 2 * 1024 + 77;  // 17 query blocks, the last one partial
    s.heads = 4;
    s.head_dim = D;
    INFO("B=2 L=" << s.seq_len << " H=4 D=" << D << " " << describe_hopper_schedule(schedule) << " seed=" << 91 + D);
    Rng rng(static_cast<uint64_t>(91 + D));
    const int64_t n = s.batch * s.seq_len * s.heads * D, rows = s.batch * s.heads * s.seq_len;
    std::vector<float> q = normal_values(n, rng), k = normal_values(n, rng), v = normal_values(n, rng);
    auto q_d = upload_rounded<bf16>(q), k_d = upload_rounded<bf16>(k), v_d = upload_rounded<bf16>(v);
    auto out = poisoned<bf16>(n), want_out = poisoned<bf16>(n);
    auto lse = poisoned<float>(rows), want_lse = poisoned<float>(rows);
    softmax_attention_fwd_hopper(q_d.data(), k_d.data(), v_d.data(), out.data(), lse.data(), s, schedule);
    softmax_attention_fwd_portable_cuda(q_d.data(), k_d.data(), v_d.data(), want_out.data(), want_lse.data(), s);
    CHECK(relative_error(download_floats(out), download_floats(want_out)) < tolerance<bf16>());
    CHECK(relative_error(lse.download(), want_lse.download()) < 1e-5);
  }
}

TEST_CASE("the persistent Hopper attention forward refuses a negative CTA count", "[gpu][softmax][hopper]") {
  SKIP_WITHOUT_SM90();
  const AttentionShape s{1, 65, 3, 64};
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
  DeviceArray<bf16> q(n), k(n), v(n), out(n);
  DeviceArray<float> lse(s.batch * s.heads * s.seq_len);
  HopperAttentionOptions o;
  o.persistent = true;
  o.persistent_ctas = -1;
  CHECK_THROWS_AS(softmax_attention_fwd_hopper(q.data(), k.data(), v.data(), out.data(), lse.data(), s, o),
                  std::invalid_argument);
}
