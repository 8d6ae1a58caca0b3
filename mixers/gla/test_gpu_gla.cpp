// Gated linear attention and its log-sigmoid decay: the CUDA kernels against the CPU kernels on fresh
// seeded inputs at odd sizes (forward with chunk states and final state, backward with the decay
// gradient, decode), fp32, norm-wise relative error 1e-4; the bf16 tensor-core scalar-decay kernels
// within the bf16 tolerance (2e-2). Built only with CUDA; each case skips itself (with a warning) on a
// machine without a GPU.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/gla/gla.h"
#include "mixers/gla/gla_scalar_bf16.cuh"
#include "mixers/gla/log_sigmoid_decay.h"
#include "ops/swish_gate.h"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::for_each_seeded_case;

namespace {

constexpr double kTolerance = 1e-4;  // fp32 on both sides: only the summation order differs

int64_t qk_count(const GlaShape& s) { return s.batch * s.seq_len * s.heads * s.key_dim; }
int64_t v_count(const GlaShape& s) { return s.batch * s.seq_len * s.heads * s.value_dim; }
int64_t g_count(const GlaShape& s) { return s.batch * s.seq_len * s.heads * s.decay_width(); }
int64_t state_count(const GlaShape& s) { return s.batch * s.heads * s.key_dim * s.value_dim; }
int64_t chunk_state_count(const GlaShape& s, const GlaOptions& o) {
  return state_count(s) * gla_num_chunks(s.seq_len, o.chunk_size);
}

// Log decays uniform in [min_log_decay, 0].
struct GlaData {
  std::vector<float> q, k, v, g;
};

GlaData random_gla(const GlaShape& s, Rng& rng, double min_log_decay) {
  return {normal_values(qk_count(s), rng), normal_values(qk_count(s), rng), normal_values(v_count(s), rng),
          uniform_values(g_count(s), rng, min_log_decay, 0.0)};
}

std::string describe(const GlaShape& s, int64_t chunk) {
  std::ostringstream out;
  out << "B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " K=" << s.key_dim << " V=" << s.value_dim
      << (s.channel_decay ? " channel" : " scalar") << " decay, chunk " << chunk;
  return out.str();
}

// Each shape with a per-channel and a scalar decay.
std::vector<GlaShape> both_decays(const std::vector<GlaShape>& shapes) {
  std::vector<GlaShape> out;
  for (GlaShape s : shapes)
    for (bool channel : {true, false}) {
      s.channel_decay = channel;
      out.push_back(s);
    }
  return out;
}

// Length 1, primes, lengths that cut 8-step rounds and 5- and 64-token chunks unevenly; key_dim on
// both sides of each register-tile width (32, 64, 128) up to the limit 256; value_dim over one and
// several 32-column tiles; chunks of 1, 5 and 64 tokens.
const std::vector<GlaShape> kGlaShapes = both_decays({
    {1, 1, 1, 1, 1, true},     {2, 37, 3, 7, 33, true},  {1, 70, 2, 16, 16, true},  {2, 23, 1, 33, 7, true},
    {1, 131, 2, 20, 40, true}, {1, 19, 2, 130, 5, true}, {1, 11, 1, 256, 65, true},
});
const std::tuple<std::vector<GlaShape>, std::vector<int64_t>> kGlaCases{kGlaShapes, {1, 5, 64}};

}  // namespace

TEST_CASE("GLA forward on the GPU matches the CPU kernel, chunk states and final state included", "[gpu][gla]") {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(kGlaCases, 100, describe, [](const GlaShape& s, int64_t chunk, Rng& rng) {
    const GlaOptions o{chunk, 0.7f};
    GlaData in = random_gla(s, rng, -2.0);
    auto q = upload_rounded<float>(in.q), k = upload_rounded<float>(in.k), v = upload_rounded<float>(in.v);
    auto g = upload_rounded<float>(in.g);
    auto out = poisoned<float>(v_count(s)), states = poisoned<float>(chunk_state_count(s, o));
    auto final_state = poisoned<float>(state_count(s));
    GlaKernels::cuda().fwd(q.data(), k.data(), v.data(), g.data(), out.data(), states.data(), final_state.data(), s, o);

    std::vector<float> want_out(v_count(s)), want_states(chunk_state_count(s, o)), want_final(state_count(s));
    GlaKernels::cpu().fwd(in.q.data(), in.k.data(), in.v.data(), in.g.data(), want_out.data(), want_states.data(),
                          want_final.data(), s, o);
    CHECK(relative_error(out.download(), want_out) < kTolerance);
    CHECK(relative_error(states.download(), want_states) < kTolerance);
    CHECK(relative_error(final_state.download(), want_final) < kTolerance);
  });
}

TEST_CASE("GLA backward on the GPU matches the CPU kernel, decay gradient included", "[gpu][gla]") {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(kGlaCases, 300, describe, [](const GlaShape& s, int64_t chunk, Rng& rng) {
    const GlaOptions o{chunk, 0.7f};
    GlaData in = random_gla(s, rng, -2.0);
    std::vector<float> dout = normal_values(v_count(s), rng);
    // Both sides differentiate from the same saved chunk states.
    std::vector<float> out(v_count(s)), states(chunk_state_count(s, o));
    GlaKernels::cpu().fwd(in.q.data(), in.k.data(), in.v.data(), in.g.data(), out.data(), states.data(), nullptr, s, o);
    auto q = upload_rounded<float>(in.q), k = upload_rounded<float>(in.k), v = upload_rounded<float>(in.v);
    auto g = upload_rounded<float>(in.g), states_d = upload_rounded<float>(states);
    auto dout_d = upload_rounded<float>(dout);
    auto dq = poisoned<float>(qk_count(s)), dk = poisoned<float>(qk_count(s)), dv = poisoned<float>(v_count(s));
    auto dg = poisoned<float>(g_count(s));
    GlaKernels::cuda().bwd(q.data(), k.data(), v.data(), g.data(), states_d.data(), dout_d.data(), dq.data(), dk.data(),
                           dv.data(), dg.data(), s, o);

    std::vector<float> want_dq(qk_count(s)), want_dk(qk_count(s)), want_dv(v_count(s)), want_dg(g_count(s));
    GlaKernels::cpu().bwd(in.q.data(), in.k.data(), in.v.data(), in.g.data(), states.data(), dout.data(),
                          want_dq.data(), want_dk.data(), want_dv.data(), want_dg.data(), s, o);
    CHECK(relative_error(dq.download(), want_dq) < kTolerance);
    CHECK(relative_error(dk.download(), want_dk) < kTolerance);
    CHECK(relative_error(dv.download(), want_dv) < kTolerance);
    CHECK(relative_error(dg.download(), want_dg) < kTolerance);

    if (chunk == 5) {  // without a decay gradient the other gradients are the same
      auto dq_only = poisoned<float>(qk_count(s));
      GlaKernels::cuda().bwd(q.data(), k.data(), v.data(), g.data(), states_d.data(), dout_d.data(), dq_only.data(),
                             dk.data(), dv.data(), nullptr, s, o);
      CHECK(relative_error(dq_only.download(), want_dq) < kTolerance);
    }
  });
}

TEST_CASE("GLA decode steps on the GPU match the CPU kernel through the dispatcher", "[gpu][gla]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 500;
  for (GlaShape s : std::vector<GlaShape>{{1, 1, 1, 1, 1, true},
                                          {2, 1, 3, 7, 33, true},
                                          {1, 1, 2, 16, 16, true},
                                          {3, 1, 1, 33, 7, true},
                                          {1, 1, 2, 256, 300, true}})
    for (bool channel : {true, false}) {
      s.channel_decay = channel;
      const GlaOptions o{64, 0.7f};
      INFO(describe(s, o.chunk_size) << " seed=" << seed);
      Rng rng(seed++);
      std::vector<float> state = normal_values(state_count(s), rng);
      auto state_d = upload_rounded<float>(state);
      for (int step = 0; step < 3; ++step) {
        INFO("step " << step);
        GlaData in = random_gla(s, rng, -2.0);  // seq_len 1: one token per (batch, head)
        auto q = upload_rounded<float>(in.q), k = upload_rounded<float>(in.k), v = upload_rounded<float>(in.v);
        auto g = upload_rounded<float>(in.g);
        auto out = poisoned<float>(v_count(s));
        kernels_for<GlaKernels>(Device::cuda)
            .decode(q.data(), k.data(), v.data(), g.data(), state_d.data(), out.data(), s, o);
        std::vector<float> want_out(v_count(s));
        GlaKernels::cpu().decode(in.q.data(), in.k.data(), in.v.data(), in.g.data(), state.data(), want_out.data(), s, o);
        CHECK(relative_error(out.download(), want_out) < kTolerance);
        CHECK(relative_error(state_d.download(), state) < kTolerance);
      }
    }
}

TEST_CASE("GLA on the GPU rejects key_dim above its limit and a missing chunk-state buffer", "[gpu][gla]") {
  const GlaShape wide{1, 4, 1, kGlaCudaMaxKeyDim + 1, 8, true};
  CHECK_THROWS_WITH(GlaKernels::cuda().fwd(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, wide, {}),
                    Catch::Contains("key_dim must be <= 256") && Catch::Contains("257"));
  CHECK_THROWS_AS(
      GlaKernels::cuda().bwd(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, wide, {}),
      std::invalid_argument);
  const GlaShape s{1, 4, 1, 8, 8, true};
  CHECK_THROWS_WITH(GlaKernels::cuda().fwd(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, s, {}),
                    Catch::Contains("chunk_states"));
}

// The CPU computes e^x and log1p with its own polynomials (simd_math.h, relative error < 1e-6), the GPU with
// expf / log1pf (a few ulps): the two differ by about 1e-6 per element, never bit for bit, which the usual
// 1e-4 norm-wise bound covers with room to spare.
TEST_CASE("log-sigmoid decay and SiLU on the GPU match the CPU kernels", "[gpu][gla]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 201;
  for (int64_t n : {1, 7, 33, 257, 4099})
    for (float tau : {1.0f, 16.0f}) {
      INFO("n=" << n << " tau=" << tau << " seed=" << seed);
      Rng rng(seed++);
      auto z = normal_values(n, rng, 4.0);
      z[0] = -30.0f;  // deep in both tails: log_sigmoid ~ z there, and ~ -e^{-z} at the other end
      z[n - 1] = n > 1 ? 30.0f : z[n - 1];
      const auto dy = normal_values(n, rng);
      DeviceArray<float> z_d(z), dy_d(dy);
      auto g_d = poisoned<float>(n), dz_d = poisoned<float>(n), y_d = poisoned<float>(n), dx_d = poisoned<float>(n);
      LogSigmoidDecayKernels::cuda().fwd(z_d.data(), g_d.data(), n, tau);
      LogSigmoidDecayKernels::cuda().bwd(z_d.data(), dy_d.data(), dz_d.data(), n, tau);
      SwishGateKernels::cuda().silu_fwd(z_d.data(), y_d.data(), n);
      SwishGateKernels::cuda().silu_bwd(z_d.data(), dy_d.data(), dx_d.data(), n);
      std::vector<float> g(n), dz(n), y(n), dx(n);
      LogSigmoidDecayKernels::cpu().fwd(z.data(), g.data(), n, tau);
      LogSigmoidDecayKernels::cpu().bwd(z.data(), dy.data(), dz.data(), n, tau);
      SwishGateKernels::cpu().silu_fwd(z.data(), y.data(), n);
      SwishGateKernels::cpu().silu_bwd(z.data(), dy.data(), dx.data(), n);
      CHECK(relative_error(g_d.download(), g) < kTolerance);
      CHECK(relative_error(dz_d.download(), dz) < kTolerance);
      CHECK(relative_error(y_d.download(), y) < kTolerance);
      CHECK(relative_error(dx_d.download(), dx) < kTolerance);
    }
}

namespace {

using bf16 = __nv_bfloat16;

// Lengths 1, 63, 65 and 200 around the 64-token chunk, key and value dims 64 and 128 in every pairing; then
// 800 and 1000, where the few walks (batch * heads * Dv / 64) leave the fused forward walking segments of the
// sequence on a GPU of 66 SMs or more: 7 at batch * heads 2 and L 800 (the last segment one partial chunk), 8 at
// batch * heads 1, and 4 of 4 chunks at 33 heads (66 walks), each start state from 2 sub-segments.
const std::tuple<std::vector<GlaShape>> kScalarBf16Cases{{{1, 1, 3, 64, 64, false},
                                                          {2, 1, 3, 128, 128, false},
                                                          {2, 63, 3, 128, 128, false},
                                                          {1, 65, 3, 64, 128, false},
                                                          {2, 65, 3, 64, 64, false},
                                                          {2, 200, 3, 128, 64, false},
                                                          {1, 200, 3, 128, 128, false},
                                                          {1, 800, 2, 128, 64, false},
                                                          {1, 1000, 1, 64, 128, false},
                                                          {1, 1000, 33, 64, 128, false}}};

// log sigmoid of N(4, 2) pre-activations, floored at -5: mostly mild decays, so the state carries across
// chunks, with a tail of strong ones (the forget-gate values a trained GLA or Mamba-2 layer sees).
std::vector<float> log_sigmoid_decays(int64_t n, Rng& rng) {
  std::vector<float> g = normal_values(n, rng, 2.0);
  for (float& x : g) x = std::max(-5.0f, -std::log1p(std::exp(-(4.0f + x))));
  return g;
}

void check_close(const char* what, const std::vector<float>& got, const std::vector<float>& want) {
  const double error = relative_error(got, want);
  INFO(what << ": norm-wise relative error " << error);
  CHECK(error < tolerance<bf16>());
}

}  // namespace

TEST_CASE("bf16 scalar-decay GLA on tensor cores matches the CPU kernel, states and all four gradients included",
          "[gpu][gla][bf16]") {
  SKIP_WITHOUT_GPU();
  auto name = [](const GlaShape& s) { return describe(s, 64); };
  for_each_seeded_case(kScalarBf16Cases, 700, name, [](const GlaShape& s, Rng& rng) {
    const GlaOptions o{64, 1.0f / std::sqrt(static_cast<float>(s.key_dim))};
    std::vector<float> q = normal_values(qk_count(s), rng), k = normal_values(qk_count(s), rng);
    std::vector<float> v = normal_values(v_count(s), rng), dout = normal_values(v_count(s), rng);
    const std::vector<float> g = log_sigmoid_decays(g_count(s), rng);
    auto q_d = upload_rounded<bf16>(q), k_d = upload_rounded<bf16>(k), v_d = upload_rounded<bf16>(v);
    auto dout_d = upload_rounded<bf16>(dout);
    DeviceArray<float> g_d(g), workspace(gla_scalar_workspace_floats(s));
    std::vector<float> want_out(v_count(s)), want_states(chunk_state_count(s, o)), want_final(state_count(s));
    GlaKernels::cpu().fwd(q.data(), k.data(), v.data(), g.data(), want_out.data(), want_states.data(),
                          want_final.data(), s, o);
    auto states = poisoned<bf16>(gla_scalar_chunk_state_elements(s));
    // The segmented walk is what these cases test, unless SEQBENCH_GLA_SCALAR_FWD_SEGMENTS picks otherwise.
    INFO("fused forward segments " << gla_scalar_fwd_segments(s));
    if (!std::getenv("SEQBENCH_GLA_SCALAR_FWD_SEGMENTS"))
      CHECK((gla_scalar_fwd_segments(s) > 1) == (s.seq_len > 512));
    for (const GlaScalarFwdVariant variant : {GlaScalarFwdVariant::split, GlaScalarFwdVariant::fused}) {
      INFO("forward variant " << gla_scalar_fwd_variant_name(variant));
      auto out = poisoned<bf16>(v_count(s));
      auto final_state = poisoned<float>(state_count(s));
      gla_scalar_fwd_cuda(q_d.data(), k_d.data(), v_d.data(), g_d.data(), out.data(), states.data(),
                          final_state.data(), workspace.data(), s, o, variant);
      check_close("out", download_floats(out), want_out);
      check_close("chunk states", download_floats(states), want_states);
      check_close("final state", final_state.download(), want_final);
      // Without states to keep, the output is the same, bit for bit.
      auto out_only = poisoned<bf16>(v_count(s));
      gla_scalar_fwd_cuda(q_d.data(), k_d.data(), v_d.data(), g_d.data(), out_only.data(), nullptr, nullptr,
                          workspace.data(), s, o, variant);
      CHECK(download_floats(out_only) == download_floats(out));
    }
    auto dq = poisoned<bf16>(qk_count(s)), dk = poisoned<bf16>(qk_count(s)), dv = poisoned<bf16>(v_count(s));
    auto dg = poisoned<float>(g_count(s));
    gla_scalar_bwd_cuda(q_d.data(), k_d.data(), v_d.data(), g_d.data(), states.data(), dout_d.data(), dq.data(),
                        dk.data(), dv.data(), dg.data(), workspace.data(), s, o);
    std::vector<float> want_dq(qk_count(s)), want_dk(qk_count(s)), want_dv(v_count(s)), want_dg(g_count(s));
    GlaKernels::cpu().bwd(q.data(), k.data(), v.data(), g.data(), want_states.data(), dout.data(), want_dq.data(),
                          want_dk.data(), want_dv.data(), want_dg.data(), s, o);
    check_close("dq", download_floats(dq), want_dq);
    check_close("dk", download_floats(dk), want_dk);
    check_close("dv", download_floats(dv), want_dv);
    check_close("dlog_decay", dg.download(), want_dg);

    // Without a decay gradient the other three are the same, bit for bit.
    auto dq_only = poisoned<bf16>(qk_count(s));
    gla_scalar_bwd_cuda(q_d.data(), k_d.data(), v_d.data(), g_d.data(), states.data(), dout_d.data(), dq_only.data(),
                        dk.data(), dv.data(), nullptr, workspace.data(), s, o);
    CHECK(download_floats(dq_only) == download_floats(dq));
  });
}

TEST_CASE("bf16 GLA without a decay (log_decay null) matches the CPU kernel with a zero decay", "[gpu][gla][bf16]") {
  SKIP_WITHOUT_GPU();
  auto name = [](const GlaShape& s) { return describe(s, 64) + ", no decay"; };
  for_each_seeded_case(kScalarBf16Cases, 1100, name, [](const GlaShape& s, Rng& rng) {
    // Scale 1 (linear attention's) and 0.3, which the backward scan applies itself rather than skipping.
    for (const float scale : {1.0f, 0.3f}) {
      INFO("scale " << scale);
      const GlaOptions o{64, scale};
      std::vector<float> q = normal_values(qk_count(s), rng), k = normal_values(qk_count(s), rng);
      std::vector<float> v = normal_values(v_count(s), rng), dout = normal_values(v_count(s), rng);
      const std::vector<float> zero(g_count(s), 0.0f);
      auto q_d = upload_rounded<bf16>(q), k_d = upload_rounded<bf16>(k), v_d = upload_rounded<bf16>(v);
      auto dout_d = upload_rounded<bf16>(dout);
      DeviceArray<float> workspace(gla_scalar_workspace_floats(s));
      std::vector<float> want_out(v_count(s)), want_states(chunk_state_count(s, o)), want_final(state_count(s));
      GlaKernels::cpu().fwd(q.data(), k.data(), v.data(), zero.data(), want_out.data(), want_states.data(),
                            want_final.data(), s, o);
      auto states = poisoned<bf16>(gla_scalar_chunk_state_elements(s));
      for (const GlaScalarFwdVariant variant : {GlaScalarFwdVariant::split, GlaScalarFwdVariant::fused}) {
        INFO("forward variant " << gla_scalar_fwd_variant_name(variant));
        auto out = poisoned<bf16>(v_count(s));
        auto final_state = poisoned<float>(state_count(s));
        gla_scalar_fwd_cuda(q_d.data(), k_d.data(), v_d.data(), nullptr, out.data(), states.data(),
                            final_state.data(), workspace.data(), s, o, variant);
        check_close("out", download_floats(out), want_out);
        check_close("chunk states", download_floats(states), want_states);
        check_close("final state", final_state.download(), want_final);
      }
      auto recomputed = poisoned<bf16>(gla_scalar_chunk_state_elements(s));
      auto final_state = poisoned<float>(state_count(s));
      gla_scalar_chunk_states_cuda(k_d.data(), v_d.data(), nullptr, recomputed.data(), final_state.data(),
                                   workspace.data(), s, o);
      check_close("recomputed chunk states", download_floats(recomputed), want_states);
      check_close("final state of the state pass", final_state.download(), want_final);

      auto dq = poisoned<bf16>(qk_count(s)), dk = poisoned<bf16>(qk_count(s)), dv = poisoned<bf16>(v_count(s));
      gla_scalar_bwd_cuda(q_d.data(), k_d.data(), v_d.data(), nullptr, recomputed.data(), dout_d.data(), dq.data(),
                          dk.data(), dv.data(), nullptr, workspace.data(), s, o);
      std::vector<float> want_dq(qk_count(s)), want_dk(qk_count(s)), want_dv(v_count(s)), want_dg(g_count(s));
      GlaKernels::cpu().bwd(q.data(), k.data(), v.data(), zero.data(), want_states.data(), dout.data(),
                            want_dq.data(), want_dk.data(), want_dv.data(), want_dg.data(), s, o);
      check_close("dq", download_floats(dq), want_dq);
      check_close("dk", download_floats(dk), want_dk);
      check_close("dv", download_floats(dv), want_dv);
      auto dg = poisoned<float>(g_count(s));
      CHECK_THROWS_WITH(gla_scalar_bwd_cuda(q_d.data(), k_d.data(), v_d.data(), nullptr, recomputed.data(),
                                            dout_d.data(), dq.data(), dk.data(), dv.data(), dg.data(),
                                            workspace.data(), s, o),
                        Catch::Contains("needs a decay"));
    }
  });
}

TEST_CASE("bf16 scalar-decay GLA with q and k shared by groups of heads matches the CPU kernel on copies",
          "[gpu][gla][bf16]") {
  SKIP_WITHOUT_GPU();
  // 4 heads reading 2 (Mamba-2's B and C groups) or 1 head of q and k; the CPU sees them copied per head.
  const std::tuple<std::vector<GlaShape>, std::vector<int64_t>> cases{{{2, 65, 4, 128, 64, false}}, {1, 2}};
  auto name = [](const GlaShape& s, int64_t qk_heads) {
    return describe(s, 64) + ", qk_heads " + std::to_string(qk_heads);
  };
  for_each_seeded_case(cases, 1500, name, [](const GlaShape& s, int64_t qk_heads, Rng& rng) {
    const GlaOptions o{64, 1.0f / std::sqrt(static_cast<float>(s.key_dim))};
    const int64_t rows = s.batch * s.seq_len, per_group = s.heads / qk_heads, K = s.key_dim;
    std::vector<float> q = normal_values(rows * qk_heads * K, rng), k = normal_values(rows * qk_heads * K, rng);
    std::vector<float> v = normal_values(v_count(s), rng), dout = normal_values(v_count(s), rng);
    const std::vector<float> g = log_sigmoid_decays(g_count(s), rng);
    auto q_d = upload_rounded<bf16>(q), k_d = upload_rounded<bf16>(k), v_d = upload_rounded<bf16>(v);
    auto dout_d = upload_rounded<bf16>(dout);
    std::vector<float> q_full(qk_count(s)), k_full(qk_count(s));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t h = 0; h < s.heads; ++h)
        for (int64_t i = 0; i < K; ++i) {
          q_full[(r * s.heads + h) * K + i] = q[(r * qk_heads + h / per_group) * K + i];
          k_full[(r * s.heads + h) * K + i] = k[(r * qk_heads + h / per_group) * K + i];
        }
    std::vector<float> want_out(v_count(s)), want_states(chunk_state_count(s, o));
    GlaKernels::cpu().fwd(q_full.data(), k_full.data(), v.data(), g.data(), want_out.data(), want_states.data(),
                          nullptr, s, o);
    std::vector<float> want_dq(qk_count(s)), want_dk(qk_count(s)), want_dv(v_count(s)), want_dg(g_count(s));
    GlaKernels::cpu().bwd(q_full.data(), k_full.data(), v.data(), g.data(), want_states.data(), dout.data(),
                          want_dq.data(), want_dk.data(), want_dv.data(), want_dg.data(), s, o);

    DeviceArray<float> g_d(g), workspace(gla_scalar_workspace_floats(s));
    auto states = poisoned<bf16>(gla_scalar_chunk_state_elements(s));
    for (const GlaScalarFwdVariant variant : {GlaScalarFwdVariant::split, GlaScalarFwdVariant::fused}) {
      INFO("forward variant " << gla_scalar_fwd_variant_name(variant));
      auto out = poisoned<bf16>(v_count(s));
      gla_scalar_fwd_cuda(q_d.data(), k_d.data(), v_d.data(), g_d.data(), out.data(), states.data(), nullptr,
                          workspace.data(), s, o, variant, qk_heads);
      check_close("out", download_floats(out), want_out);
      check_close("chunk states", download_floats(states), want_states);
    }
    auto dq = poisoned<bf16>(qk_count(s)), dk = poisoned<bf16>(qk_count(s)), dv = poisoned<bf16>(v_count(s));
    auto dg = poisoned<float>(g_count(s));
    gla_scalar_bwd_cuda(q_d.data(), k_d.data(), v_d.data(), g_d.data(), states.data(), dout_d.data(), dq.data(),
                        dk.data(), dv.data(), dg.data(), workspace.data(), s, o, qk_heads);
    check_close("dq (per head)", download_floats(dq), want_dq);
    check_close("dk (per head)", download_floats(dk), want_dk);
    check_close("dv", download_floats(dv), want_dv);
    check_close("dlog_decay", dg.download(), want_dg);
  });
}

TEST_CASE("bf16 scalar-decay GLA names the shapes it cannot run before touching the GPU", "[gpu][gla][bf16]") {
  const GlaOptions o;
  CHECK(gla_scalar_tc_unsupported({2, 100, 3, 128, 64, false}, o).empty());
  CHECK_THAT(gla_scalar_tc_unsupported({2, 100, 3, 128, 128, true}, o), Catch::Contains("per-channel"));
  CHECK_THAT(gla_scalar_tc_unsupported({2, 100, 3, 96, 128, false}, o), Catch::Contains("key_dim=96"));
  CHECK_THROWS_WITH(gla_scalar_fwd_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                        {1, 4, 1, 64, 32, false}, o),
                    Catch::Contains("value_dim=32"));
  CHECK_THROWS_WITH(gla_scalar_bwd_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                        nullptr, nullptr, {1, 4, 1, 64, 64, false}, o),
                    Catch::Contains("null"));
}
