// The bf16 per-channel-decay GLA kernels on tensor cores (gla_channel_bf16.cuh) against the fp32 CPU kernels
// (GlaKernels::cpu()) on fresh seeded inputs at lengths around the 64-token chunk and its 16-token sub-chunks:
// output, chunk states, final state, and the gradients of q, k, v and the log decays, within the bf16 tolerance
// (2e-2 norm-wise). Built only with CUDA; each case skips itself (with a warning) on a machine without a GPU.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/gla/gla.h"
#include "mixers/gla/gla_channel_bf16.cuh"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::for_each_seeded_case;

namespace {

using bf16 = __nv_bfloat16;

int64_t qk_count(const GlaShape& s) { return s.batch * s.seq_len * s.heads * s.key_dim; }
int64_t v_count(const GlaShape& s) { return s.batch * s.seq_len * s.heads * s.value_dim; }
int64_t state_count(const GlaShape& s) { return s.batch * s.heads * s.key_dim * s.value_dim; }

// Two decay regimes. mild: log sigmoid of N(4, 2) (a trained forget gate: the state carries across chunks).
// strong: log sigmoid of N(0, 2) with every fifth decay -5, so the cumulative decay inside one chunk reaches
// -100 and beyond: e^{-b} over a chunk overflows fp32, and only exponents taken against a reference row inside
// the chunk stay finite.
enum class Decays { mild, strong };

std::vector<float> log_decays(int64_t n, Decays regime, Rng& rng) {
  std::vector<float> g = normal_values(n, rng, 2.0);
  const float mean = regime == Decays::mild ? 4.0f : 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    g[i] = -std::log1p(std::exp(-(mean + g[i])));
    if (regime == Decays::strong && i % 5 == 0) g[i] = -5.0f;
  }
  return g;
}

std::string describe(const GlaShape& s, Decays regime) {
  std::ostringstream out;
  out << "B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " K=" << s.key_dim << " V=" << s.value_dim
      << (regime == Decays::mild ? ", mild" : ", strong") << " decays";
  return out.str();
}

void check_close(const char* what, const std::vector<float>& got, const std::vector<float>& want) {
  const double error = relative_error(got, want);
  INFO(what << ": norm-wise relative error " << error);
  CHECK(error < tolerance<bf16>());
}

// Lengths 1, 63, 65 and 130 around the 64-token chunk (130: three chunks, the last of 2 tokens) and 257 (five
// chunks, so the decay gradient's part from the later chunks spans several); key and value dims 64 and 128 in
// every pairing; batch 1 and 2; 2 or 3 heads.
const std::tuple<std::vector<GlaShape>, std::vector<Decays>> kCases{{{1, 1, 2, 64, 64, true},
                                                                     {2, 1, 2, 128, 128, true},
                                                                     {1, 63, 2, 128, 128, true},
                                                                     {2, 63, 2, 64, 128, true},
                                                                     {1, 65, 2, 128, 64, true},
                                                                     {2, 65, 2, 64, 64, true},
                                                                     {1, 130, 2, 128, 128, true},
                                                                     {2, 130, 2, 128, 64, true},
                                                                     {1, 257, 3, 128, 128, true}},
                                                                    {Decays::mild, Decays::strong}};

}  // namespace

TEST_CASE("bf16 per-channel-decay GLA on tensor cores matches the CPU kernel, states and all four gradients included",
          "[gpu][gla][bf16]") {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(kCases, 900, describe, [](const GlaShape& s, Decays regime, Rng& rng) {
    const GlaOptions o{64, 1.0f / std::sqrt(static_cast<float>(s.key_dim))};
    std::vector<float> q = normal_values(qk_count(s), rng), k = normal_values(qk_count(s), rng);
    std::vector<float> v = normal_values(v_count(s), rng), dout = normal_values(v_count(s), rng);
    const std::vector<float> g = log_decays(qk_count(s), regime, rng);
    auto q_d = upload_rounded<bf16>(q), k_d = upload_rounded<bf16>(k), v_d = upload_rounded<bf16>(v);
    auto dout_d = upload_rounded<bf16>(dout);
    DeviceArray<float> g_d(g), workspace(gla_channel_workspace_floats(s));

    std::vector<float> want_out(v_count(s)), want_final(state_count(s));
    std::vector<float> want_states(state_count(s) * gla_num_chunks(s.seq_len, o.chunk_size));
    GlaKernels::cpu().fwd(q.data(), k.data(), v.data(), g.data(), want_out.data(), want_states.data(),
                          want_final.data(), s, o);
    std::vector<float> want_dq(qk_count(s)), want_dk(qk_count(s)), want_dv(v_count(s)), want_dg(qk_count(s));
    GlaKernels::cpu().bwd(q.data(), k.data(), v.data(), g.data(), want_states.data(), dout.data(), want_dq.data(),
                          want_dk.data(), want_dv.data(), want_dg.data(), s, o);
    // Every form of each part: the two scans, the two state loads of the forward, and the backward's chunk
    // kernel in each pairing of its warp count and diagonal sub-chunk form, with and without the decay gradient
    // inside it.
    for (const GlaChannelVariant variant :
         {GlaChannelVariant{true, true, true, true, true}, GlaChannelVariant{false, false, false, false, false},
          GlaChannelVariant{true, true, false, true, true}, GlaChannelVariant{true, true, true, false, false}}) {
      INFO("variant " << gla_channel_variant_name(variant));
      auto out = poisoned<bf16>(v_count(s)), states = poisoned<bf16>(gla_channel_chunk_state_elements(s));
      auto final_state = poisoned<float>(state_count(s));
      gla_channel_fwd_cuda(q_d.data(), k_d.data(), v_d.data(), g_d.data(), out.data(), states.data(),
                           final_state.data(), workspace.data(), s, o, variant);
      check_close("out", download_floats(out), want_out);
      check_close("chunk states", download_floats(states), want_states);
      check_close("final state", final_state.download(), want_final);
      // Without states to keep (they then live in the workspace), the output is the same, bit for bit.
      auto out_only = poisoned<bf16>(v_count(s));
      gla_channel_fwd_cuda(q_d.data(), k_d.data(), v_d.data(), g_d.data(), out_only.data(), nullptr, nullptr,
                           workspace.data(), s, o, variant);
      CHECK(download_floats(out_only) == download_floats(out));

      auto dq = poisoned<bf16>(qk_count(s)), dk = poisoned<bf16>(qk_count(s)), dv = poisoned<bf16>(v_count(s));
      auto dg = poisoned<float>(qk_count(s));
      gla_channel_bwd_cuda(q_d.data(), k_d.data(), v_d.data(), g_d.data(), states.data(), dout_d.data(), dq.data(),
                           dk.data(), dv.data(), dg.data(), workspace.data(), s, o, variant);
      check_close("dq", download_floats(dq), want_dq);
      check_close("dk", download_floats(dk), want_dk);
      check_close("dv", download_floats(dv), want_dv);
      check_close("dlog_decay", dg.download(), want_dg);

      // Without a decay gradient the other three are the same, bit for bit.
      auto dq_only = poisoned<bf16>(qk_count(s));
      gla_channel_bwd_cuda(q_d.data(), k_d.data(), v_d.data(), g_d.data(), states.data(), dout_d.data(), dq_only.data(),
                           dk.data(), dv.data(), nullptr, workspace.data(), s, o, variant);
      CHECK(download_floats(dq_only) == download_floats(dq));
    }
  });
}

TEST_CASE("bf16 per-channel-decay GLA names the shapes it cannot run before touching the GPU", "[gpu][gla][bf16]") {
  const GlaOptions o;
  CHECK(gla_channel_tc_unsupported({2, 100, 3, 128, 64, true}, o).empty());
  CHECK_THAT(gla_channel_tc_unsupported({2, 100, 3, 128, 128, false}, o), Catch::Contains("scalar decay"));
  CHECK_THAT(gla_channel_tc_unsupported({2, 100, 3, 96, 128, true}, o), Catch::Contains("key_dim=96"));
  CHECK_THROWS_WITH(gla_channel_fwd_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                         {1, 4, 1, 64, 32, true}, o),
                    Catch::Contains("value_dim=32"));
  CHECK_THROWS_WITH(gla_channel_bwd_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                         nullptr, nullptr, nullptr, {1, 4, 1, 64, 64, true}, o),
                    Catch::Contains("null"));
}
