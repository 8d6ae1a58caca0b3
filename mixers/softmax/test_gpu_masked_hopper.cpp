// The Hopper (sm_90a) attention forward with sink + sliding-window key sets against the CPU masked
// attention over the same spans (sink_window_sequence_spans) on fresh seeded inputs: lengths that cut
// the 128-query and 128-key tiles unevenly (1, 63, 65, 130, 257, 1000), windows 1, 17, 64, 128, 300
// (some longer than the sequence), sinks 0, 1, 4, 130, batch 1 and 2, 3 heads, head dims 64 and 128,
// each schedule, one CTA per tile and persistent (hopper_attention_schedules.h), and the bf16
// dispatch (sink_window_attention_fwd_cuda). bf16 tolerance
// 2e-2 on the output and 1e-5 on the log-sum-exp norm-wise, and per row (so one wrongly masked row
// among thousands cannot hide). Skips on a GPU that is not sm_90.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/sliding_window/sink_window_attention_bf16.cuh"
#include "mixers/sliding_window/sink_window_spans.h"
#include "mixers/softmax/hopper_attention_schedules.h"
#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/softmax_attention_hopper.cuh"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::describe_hopper_schedule;
using seqbench::testing::for_each_seeded_case;
using seqbench::testing::hopper_forward_schedules;
using bf16 = __nv_bfloat16;

namespace {

// The worst over rows of |got - want| / |want| (rows of `width` values); NaN when any is NaN.
double worst_row_error(const std::vector<float>& got, const std::vector<float>& want, int64_t width) {
  double worst = 0.0;
  for (size_t r = 0; r * width < want.size(); ++r) {
    double diff = 0.0, norm = 0.0;
    for (int64_t d = 0; d < width; ++d) {
      const double g = got[r * width + d], w = want[r * width + d];
      diff += (g - w) * (g - w);
      norm += w * w;
    }
    const double error = std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
    if (!(error <= worst)) worst = error;  // keeps a NaN
  }
  return worst;
}

// The worst |got - want| / (1 + |want|) of the log-sum-exps; NaN when any is NaN.
double worst_lse_error(const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double error = std::fabs(double(got[i]) - want[i]) / (1.0 + std::fabs(double(want[i])));
    if (!(error <= worst)) worst = error;
  }
  return worst;
}

void check_against(const DeviceArray<bf16>& out, const DeviceArray<float>& lse, const std::vector<float>& want_out,
                   const std::vector<float>& want_lse, int64_t D) {
  const std::vector<float> got_out = download_floats(out), got_lse = lse.download();
  CHECK(relative_error(got_out, want_out) < tolerance<bf16>());
  CHECK(relative_error(got_lse, want_lse) < 1e-5);
  CHECK(worst_row_error(got_out, want_out, D) < tolerance<bf16>());
  CHECK(worst_lse_error(got_lse, want_lse) < 1e-4);
}

}  // namespace

TEST_CASE("the Hopper attention forward with sinks and a window matches the CPU masked attention",
          "[gpu][softmax][sliding_window][hopper]") {
  SKIP_WITHOUT_SM90();
  const std::tuple<std::vector<int64_t>, std::vector<int64_t>, std::vector<int64_t>, std::vector<int64_t>,
                   std::vector<int64_t>>
      cases{{1, 63, 65, 130, 257, 1000}, {1, 17, 64, 128, 300}, {0, 1, 4, 130}, {1, 2}, {64, 128}};
  auto describe = [](int64_t L, int64_t window, int64_t sinks, int64_t B, int64_t D) {
    std::ostringstream text;
    text << "B=" << B << " L=" << L << " H=3 D=" << D << " window=" << window << " sinks=" << sinks;
    return text.str();
  };
  for_each_seeded_case(
      cases, 131, describe, [](int64_t L, int64_t window, int64_t sinks, int64_t B, int64_t D, Rng& rng) {
        AttentionShape s;
        s.batch = B;
        s.seq_len = L;
        s.heads = 3;
        s.head_dim = D;
        const int64_t n = B * L * s.heads * D, rows = B * s.heads * L;
        std::vector<float> q = normal_values(n, rng), k = normal_values(n, rng), v = normal_values(n, rng);
        auto q_d = upload_rounded<bf16>(q), k_d = upload_rounded<bf16>(k), v_d = upload_rounded<bf16>(v);
        std::vector<KeySpan> spans(static_cast<size_t>(L * kSinkWindowSpans));
        sink_window_sequence_spans(L, sinks, window, spans.data());
        std::vector<float> want_out(n), want_lse(rows);
        MaskedAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), want_out.data(), want_lse.data(),
                                          SpanTable{spans.data(), kSinkWindowSpans, false}, s);
        for (const HopperAttentionOptions& schedule : hopper_forward_schedules(true, sinks, window)) {
          INFO(describe_hopper_schedule(schedule));
          auto out = poisoned<bf16>(n);
          auto lse = poisoned<float>(rows);
          softmax_attention_fwd_hopper(q_d.data(), k_d.data(), v_d.data(), out.data(), lse.data(), s, schedule);
          check_against(out, lse, want_out, want_lse, D);
        }
        auto out = poisoned<bf16>(n);
        auto lse = poisoned<float>(rows);
        if (!sink_window_attention_bf16_supported(s, q_d.data(), k_d.data(), v_d.data(), out.data())) {
          INFO("SEQBENCH_ATTENTION_FWD=portable: the bf16 dispatch has no kernel and says so");
          CHECK_THROWS_AS(sink_window_attention_fwd_cuda(q_d.data(), k_d.data(), v_d.data(), out.data(), lse.data(), s,
                                                         sinks, window),
                          std::invalid_argument);
          return;
        }
        INFO("the bf16 dispatch (" << attention_fwd_variant_name(attention_fwd_variant()) << ")");
        sink_window_attention_fwd_cuda(q_d.data(), k_d.data(), v_d.data(), out.data(), lse.data(), s, sinks, window);
        check_against(out, lse, want_out, want_lse, D);
      });
}

TEST_CASE("the Hopper attention forward refuses a negative window or sinks, and either without causal",
          "[gpu][softmax][sliding_window][hopper]") {
  SKIP_WITHOUT_SM90();
  const AttentionShape s{1, 65, 3, 64};
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
  DeviceArray<bf16> q(n), k(n), v(n), out(n);
  DeviceArray<float> lse(s.batch * s.heads * s.seq_len);
  auto run = [&](bool causal, int64_t window, int64_t sinks) {
    HopperAttentionOptions o;
    o.causal = causal;
    o.window = window;
    o.sinks = sinks;
    softmax_attention_fwd_hopper(q.data(), k.data(), v.data(), out.data(), lse.data(), s, o);
  };
  CHECK_THROWS_AS(run(true, -1, 0), std::invalid_argument);
  CHECK_THROWS_AS(run(true, 16, -1), std::invalid_argument);
  CHECK_THROWS_AS(run(false, 16, 0), std::invalid_argument);
  CHECK_THROWS_AS(run(false, 0, 4), std::invalid_argument);
  CHECK_THROWS_AS(sink_window_attention_fwd_cuda(q.data(), k.data(), v.data(), out.data(), lse.data(), s, 0, 0),
                  std::invalid_argument);
}
