// The delta rule: the chunk-checkpointed CPU kernels against a naive double-precision recurrence
// (its outputs, final state and finite-difference gradients), the overwrite property of the delta
// rule, the gate maps in front of it, then the "delta" mixer (ungated and gated) through the
// generic conformance checks.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/chunked_mixer_checks.h"
#include "mixers/delta/delta_mixer.h"
#include "mixers/delta/delta_rule.h"
#include "mixers/delta/delta_rule_gates.h"
#include "mixers/delta/delta_test_inputs.h"
#include "mixers/delta/state_rows.h"
#include "ops/parallel.h"
#include "tests/finite_difference.h"
#include "tests/mixer_checks.h"
#include "tests/random_values.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::mixer_checks;

namespace {

using testing::DeltaInputs;
using testing::describe_delta_case;
using testing::for_each_seeded_case;
using testing::widen;
using testing::worst_mixed_error;

DeltaInputs<double> widen(const DeltaInputs<float>& in) {
  return {widen(in.q), widen(in.k), widen(in.v), widen(in.beta), widen(in.log_decay)};
}

// S <- a S; e = v - S k; S <- S + b e k^T; o = S q, token by token, written out plainly.
std::vector<double> reference_delta_rule(const DeltaInputs<double>& in, const DeltaRuleShape& s,
                                         std::vector<double>* final_state = nullptr) {
  const int64_t L = s.seq_len, H = s.heads, K = s.key_dim, V = s.value_dim;
  std::vector<double> out(static_cast<size_t>(s.batch * L * H * V), 0.0);
  if (final_state) final_state->assign(static_cast<size_t>(s.batch * H * V * K), 0.0);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> S(static_cast<size_t>(V * K), 0.0);
      for (int64_t t = 0; t < L; ++t) {
        const int64_t kt = ((b * L + t) * H + h) * K, vt = ((b * L + t) * H + h) * V, gt = (b * L + t) * H + h;
        const double alpha = in.log_decay.empty() ? 1.0 : std::exp(in.log_decay[gt]);
        for (double& x : S) x *= alpha;
        for (int64_t i = 0; i < V; ++i) {
          double u = 0.0;
          for (int64_t j = 0; j < K; ++j) u += S[i * K + j] * in.k[kt + j];
          const double e = in.v[vt + i] - u;
          for (int64_t j = 0; j < K; ++j) S[i * K + j] += in.beta[gt] * e * in.k[kt + j];
        }
        for (int64_t i = 0; i < V; ++i)
          for (int64_t j = 0; j < K; ++j) out[vt + i] += S[i * K + j] * in.q[kt + j];
      }
      if (final_state)  // the kernels hold S^T: [K, V]
        for (int64_t i = 0; i < V; ++i)
          for (int64_t j = 0; j < K; ++j) (*final_state)[((b * H + h) * K + j) * V + i] = S[i * K + j];
    }
  return out;
}

DeltaInputs<float> random_inputs(const DeltaRuleShape& s, Rng& rng, bool gated) {
  return testing::random_delta_inputs(s, s.seq_len, rng, gated);
}

struct KernelRun {
  std::vector<float> out, checkpoints, final_state;
};

KernelRun run_forward(const DeltaInputs<float>& in, const DeltaRuleShape& s, const DeltaRuleOptions& o) {
  KernelRun run;
  run.out.resize(in.v.size());
  run.checkpoints.resize(
      static_cast<size_t>(s.batch * s.heads * delta_rule_checkpoint_count(s, o) * s.key_dim * s.value_dim));
  run.final_state.resize(static_cast<size_t>(s.batch * s.heads * s.key_dim * s.value_dim));
  DeltaRuleKernels::cpu().fwd(in.q.data(), in.k.data(), in.v.data(), in.beta.data(), in.decay(), run.out.data(),
                     run.checkpoints.data(), run.final_state.data(), s, o);
  return run;
}

const std::vector<bool> kGatedOrNot{false, true};

const std::vector<DeltaRuleShape> kForwardShapes{
    {1, 1, 1, 1, 1}, {2, 7, 3, 4, 5}, {1, 65, 2, 8, 8}, {2, 13, 1, 3, 7}, {1, 130, 1, 5, 3}};

}  // namespace

TEST_CASE("delta rule forward matches the naive recurrence at every chunk size", "[delta][kernel]") {
  const std::tuple kCases{kForwardShapes, std::vector<DeltaRuleOptions>{{1}, {5}, {64}}, kGatedOrNot};
  for_each_seeded_case(kCases, 1, describe_delta_case,
                       [](const DeltaRuleShape& s, const DeltaRuleOptions& o, bool gated, Rng& rng) {
                         const DeltaInputs<float> in = random_inputs(s, rng, gated);
                         const KernelRun run = run_forward(in, s, o);
                         std::vector<double> final_state;
                         const std::vector<double> ref = reference_delta_rule(widen(in), s, &final_state);
                         CHECK(worst_mixed_error(run.out, ref) < 2e-5);
                         CHECK(worst_mixed_error(run.final_state, final_state) < 2e-5);
                       });
}

TEST_CASE("delta rule backward matches finite differences of the naive recurrence", "[delta][kernel]") {
  // (chunk, span): checkpoints every token, every 5, or once; backward spans whole chunks or parts.
  const std::tuple kCases{std::vector<DeltaRuleShape>{{2, 11, 2, 3, 5}},
                          std::vector<DeltaRuleOptions>{{1, 0}, {5, 0}, {5, 2}, {64, 0}, {64, 3}}, kGatedOrNot};
  for_each_seeded_case(
      kCases, 100, describe_delta_case, [](const DeltaRuleShape& s, const DeltaRuleOptions& o, bool gated, Rng& rng) {
        const DeltaInputs<float> in = random_inputs(s, rng, gated);
        const std::vector<float> dout = testing::normal_values(static_cast<int64_t>(in.v.size()), rng);
        const KernelRun run = run_forward(in, s, o);
        DeltaInputs<float> grad{std::vector<float>(in.q.size()), std::vector<float>(in.k.size()),
                                std::vector<float>(in.v.size()), std::vector<float>(in.beta.size()),
                                std::vector<float>(in.log_decay.size())};
        DeltaRuleKernels::cpu().bwd(in.q.data(), in.k.data(), in.v.data(), in.beta.data(), in.decay(),
                                    run.checkpoints.data(), dout.data(), grad.q.data(), grad.k.data(), grad.v.data(),
                                    grad.beta.data(), gated ? grad.log_decay.data() : nullptr, s, o);

        // Central differences of sum(out * dout) in double: accurate to ~1e-9, far below float error.
        DeltaInputs<double> point = widen(in);
        auto loss = [&] { return testing::weighted_sum(reference_delta_rule(point, s), dout); };
        const std::vector<std::pair<const char*, std::pair<std::vector<double>*, const std::vector<float>*>>> inputs{
            {"q", {&point.q, &grad.q}},
            {"k", {&point.k, &grad.k}},
            {"v", {&point.v, &grad.v}},
            {"beta", {&point.beta, &grad.beta}},
            {"log_decay", {&point.log_decay, &grad.log_decay}}};
        for (const auto& [name, pair] : inputs) {
          const std::vector<double> numeric = testing::numeric_gradient(*pair.first, 1e-5, loss);
          INFO("gradient of " << name);
          CHECK(worst_mixed_error(*pair.second, numeric) < 1e-4);
        }
      });
}

TEST_CASE("delta rule backward gives the same gradients whatever span it recomputes at a time", "[delta][kernel]") {
  // head_dim 128: the automatic span (16 tokens of 128 x 128 states) splits a 40-token chunk in three.
  const DeltaRuleShape s{1, 40, 1, 128, 128};
  Rng rng(61);
  const DeltaInputs<float> in = random_inputs(s, rng, true);
  const std::vector<float> dout = testing::normal_values(static_cast<int64_t>(in.v.size()), rng);
  auto gradients = [&](const DeltaRuleOptions& o) {
    const KernelRun fwd = run_forward(in, s, o);
    std::vector<float> dq(in.q.size()), dk(in.k.size()), dv(in.v.size()), db(in.beta.size()), dg(db.size());
    DeltaRuleKernels::cpu().bwd(in.q.data(), in.k.data(), in.v.data(), in.beta.data(), in.log_decay.data(),
                       fwd.checkpoints.data(), dout.data(), dq.data(), dk.data(), dv.data(), db.data(), dg.data(), s,
                       o);
    return std::vector<std::vector<float>>{dq, dk, dv, db, dg};
  };
  const auto whole = gradients({64, 64}), automatic = gradients({64, 0}), short_spans = gradients({20, 7});
  for (size_t i = 0; i < whole.size(); ++i) {
    INFO("gradient " << i << " of q, k, v, beta, log_decay");
    CHECK(worst_mixed_error(automatic[i], whole[i]) < 1e-6);
    CHECK(worst_mixed_error(short_spans[i], whole[i]) < 1e-5);
  }
  CHECK_THROWS_AS(gradients({5, -1}), std::invalid_argument);
}

TEST_CASE("delta rule decode continues the forward's final state token by token", "[delta][kernel]") {
  const DeltaRuleShape s{2, 17, 3, 4, 5};
  for (bool gated : {false, true}) {
    const DeltaRuleOptions o{5};
    INFO(describe_delta_case(s, o, gated));
    Rng rng(gated ? 12 : 11);
    const DeltaInputs<float> in = random_inputs(s, rng, gated);
    const KernelRun full = run_forward(in, s, o);
    const int64_t prefix = 8, H = s.heads, K = s.key_dim, V = s.value_dim, L = s.seq_len;
    // The first `prefix` tokens as their own batch of shorter sequences.
    DeltaRuleShape ps = s;
    ps.seq_len = prefix;
    DeltaInputs<float> head;
    for (int64_t b = 0; b < s.batch; ++b) {
      auto take = [&](const std::vector<float>& from, std::vector<float>& to, int64_t width) {
        to.insert(to.end(), from.begin() + b * L * H * width, from.begin() + (b * L + prefix) * H * width);
      };
      take(in.q, head.q, K);
      take(in.k, head.k, K);
      take(in.v, head.v, V);
      take(in.beta, head.beta, 1);
      if (gated) take(in.log_decay, head.log_decay, 1);
    }
    std::vector<float> state = run_forward(head, ps, o).final_state;
    std::vector<float> q_t(s.batch * H * K), k_t(q_t.size()), v_t(s.batch * H * V), beta_t(s.batch * H),
        g_t(beta_t.size()), o_t(v_t.size());
    double worst = 0.0;
    for (int64_t t = prefix; t < L; ++t) {
      for (int64_t b = 0; b < s.batch; ++b) {
        const int64_t row = (b * L + t) * H;
        std::copy_n(in.q.begin() + row * K, H * K, q_t.begin() + b * H * K);
        std::copy_n(in.k.begin() + row * K, H * K, k_t.begin() + b * H * K);
        std::copy_n(in.v.begin() + row * V, H * V, v_t.begin() + b * H * V);
        std::copy_n(in.beta.begin() + row, H, beta_t.begin() + b * H);
        if (gated) std::copy_n(in.log_decay.begin() + row, H, g_t.begin() + b * H);
      }
      DeltaRuleKernels::cpu().decode(q_t.data(), k_t.data(), v_t.data(), beta_t.data(), gated ? g_t.data() : nullptr,
                            state.data(), o_t.data(), s);
      for (int64_t b = 0; b < s.batch; ++b)
        for (int64_t c = 0; c < H * V; ++c) {
          const double want = full.out[(b * L + t) * H * V + c];
          worst = std::max(worst, std::fabs(o_t[b * H * V + c] - want) / (1.0 + std::fabs(want)));
        }
    }
    CHECK(worst < 1e-6);
    CHECK(worst_mixed_error(state, full.final_state) < 1e-6);
  }
}

TEST_CASE("with beta = 1 the delta rule overwrites: a repeated key retrieves its latest value", "[delta][kernel]") {
  // S_t k = a S_{t-1} k + (v_t - a S_{t-1} k) (k.k) = v_t for a unit key, whatever the decay a.
  const DeltaRuleShape s{1, 9, 1, 6, 4};
  for (bool gated : {false, true}) {
    INFO("gated=" << gated);
    Rng rng(21);
    DeltaInputs<float> in = random_inputs(s, rng, gated);
    const std::vector<float> key(in.k.begin(), in.k.begin() + s.key_dim);
    for (int64_t t = 0; t < s.seq_len; ++t) {
      std::copy(key.begin(), key.end(), in.k.begin() + t * s.key_dim);
      std::copy(key.begin(), key.end(), in.q.begin() + t * s.key_dim);
      in.beta[t] = 1.0f;
    }
    const KernelRun run = run_forward(in, s, {4});
    CHECK(worst_mixed_error(run.out, in.v) < 1e-5);
  }

  // Writing to an orthogonal key leaves the first one's value in place (ungated).
  const DeltaRuleShape two{1, 4, 1, 3, 2};
  DeltaInputs<float> in;
  in.k = {1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1};  // e1, e2, e1 (rewrite), e3
  in.q = {1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0};  // read e1, e1, e2, e1
  in.v = {1, 2, 3, 4, 5, 6, 7, 8};
  in.beta = {1, 1, 1, 1};
  const KernelRun run = run_forward(in, two, {64});
  CHECK(run.out == std::vector<float>{1, 2, 1, 2, 3, 4, 5, 6});
}

TEST_CASE("delta rule gates compute l2 norm, sigmoid and decay with exact derivatives", "[delta][kernel]") {
  Rng rng(31);
  const int64_t rows = 5, width = 7, heads = 3, gate_rows = 4;
  const Tensor x = random_tensor({rows, width}, rng);
  const Tensor r = random_tensor({rows, width}, rng);
  Tensor y({rows, width}), dx({rows, width});
  DeltaRuleGateKernels::cpu().l2_normalize_fwd(x.data(), y.data(), rows, width, 1e-6f);
  for (int64_t i = 0; i < rows; ++i) {
    double norm2 = 0.0, x2 = 0.0;
    for (int64_t j = 0; j < width; ++j) {
      norm2 += static_cast<double>(y[i * width + j]) * y[i * width + j];
      x2 += static_cast<double>(x[i * width + j]) * x[i * width + j];
    }
    CHECK(norm2 == Approx(x2 / (x2 + 1e-6)).epsilon(1e-6));
  }
  DeltaRuleGateKernels::cpu().l2_normalize_bwd(x.data(), r.data(), dx.data(), rows, width, 1e-6f);
  Tensor probe = x;
  auto l2_loss = [&] {
    DeltaRuleGateKernels::cpu().l2_normalize_fwd(probe.data(), y.data(), rows, width, 1e-6f);
    return weighted_sum(y, r);
  };
  testing::check_gradient("l2 norm input", probe, dx, l2_loss, rng);

  const std::vector<float> z{-30.0f, -2.0f, 0.0f, 0.5f, 40.0f};
  std::vector<float> sig(z.size()), dsig(z.size());
  DeltaRuleGateKernels::cpu().sigmoid_fwd(z.data(), sig.data(), 5);
  for (size_t i = 0; i < z.size(); ++i) CHECK(sig[i] == Approx(1.0 / (1.0 + std::exp(-static_cast<double>(z[i])))));
  const std::vector<float> ones(z.size(), 1.0f);
  DeltaRuleGateKernels::cpu().sigmoid_bwd(sig.data(), ones.data(), dsig.data(), 5);
  CHECK(dsig[2] == Approx(0.25));

  Tensor a = random_tensor({gate_rows, heads}, rng, 3.0), a_log = random_tensor({heads}, rng),
         dt_bias = random_tensor({heads}, rng);
  const Tensor dg = random_tensor({gate_rows, heads}, rng);
  Tensor g({gate_rows, heads}), da({gate_rows, heads}), da_log({heads}), ddt_bias({heads});
  DeltaRuleGateKernels::cpu().gated_decay_fwd(a.data(), a_log.data(), dt_bias.data(), g.data(), gate_rows, heads);
  for (int64_t i = 0; i < g.numel(); ++i) {
    const double zi = static_cast<double>(a[i]) + dt_bias[i % heads];
    CHECK(g[i] == Approx(-std::exp(static_cast<double>(a_log[i % heads])) * std::log1p(std::exp(zi))).epsilon(1e-5));
  }
  DeltaRuleGateKernels::cpu().gated_decay_bwd(a.data(), a_log.data(), dt_bias.data(), dg.data(), da.data(), da_log.data(), ddt_bias.data(),
                      gate_rows, heads);
  auto decay_loss = [&] {
    DeltaRuleGateKernels::cpu().gated_decay_fwd(a.data(), a_log.data(), dt_bias.data(), g.data(), gate_rows, heads);
    return weighted_sum(g, dg);
  };
  testing::check_gradient("decay input", a, da, decay_loss, rng);
  testing::check_gradient("A_log", a_log, da_log, decay_loss, rng);
  testing::check_gradient("dt_bias", dt_bias, ddt_bias, decay_loss, rng);
}

TEST_CASE("state row helpers sum rows and reduce eight lane sums per row", "[delta][kernel]") {
  Rng rng(51);
  const std::vector<float> lanes = testing::normal_values(64, rng);
  const delta_rows::Lanes8 sums = delta_rows::row_sums8(lanes.data());
  for (int r = 0; r < 8; ++r) {
    double want = 0.0;
    for (int l = 0; l < 8; ++l) want += lanes[r * 8 + l];
    CHECK(sums[r] == Approx(want).margin(1e-5));
  }
  const int64_t rows = 7, n = 5;  // 7 rows: one block of four and three single rows
  std::vector<float> M(rows * n), P(rows * n), x(rows), y(rows), a(n), b(n), ga(n), gb(n);
  for (auto* vec : {&M, &P, &x, &y})
    for (float& e : *vec) e = static_cast<float>(rng.normal());
  delta_rows::combine_rows(M.data(), rows, n, x.data(), y.data(), a.data(), b.data());
  delta_rows::combine_gradient_rows<true>(M.data(), P.data(), rows, n, x.data(), ga.data(), gb.data());
  for (int64_t i = 0; i < n; ++i) {
    double want_a = 0.0, want_b = 0.0, want_products = 0.0;
    for (int64_t j = 0; j < rows; ++j) {
      want_a += static_cast<double>(x[j]) * M[j * n + i];
      want_b += static_cast<double>(y[j]) * M[j * n + i];
      want_products += static_cast<double>(M[j * n + i]) * P[j * n + i];
    }
    CHECK(a[i] == Approx(want_a).margin(1e-5));
    CHECK(b[i] == Approx(want_b).margin(1e-5));
    CHECK(ga[i] == Approx(want_a).margin(1e-5));
    CHECK(gb[i] == Approx(want_products).margin(1e-5));
  }
}

TEST_CASE("delta kernels give bit-identical results with 1 and 2 threads", "[delta][kernel]") {
  const DeltaRuleShape s{3, 70, 3, 8, 8};
  const DeltaRuleOptions o{16, 5};
  Rng rng(41);
  const DeltaInputs<float> in = random_inputs(s, rng, true);
  const std::vector<float> dout = testing::normal_values(static_cast<int64_t>(in.v.size()), rng);
  auto run = [&](int threads) {
    set_num_threads(threads);
    KernelRun fwd = run_forward(in, s, o);
    std::vector<float> dq(in.q.size()), dk(in.k.size()), dv(in.v.size()), db(in.beta.size()), dg(db.size());
    DeltaRuleKernels::cpu().bwd(in.q.data(), in.k.data(), in.v.data(), in.beta.data(), in.log_decay.data(),
                       fwd.checkpoints.data(), dout.data(), dq.data(), dk.data(), dv.data(), db.data(), dg.data(), s,
                       o);
    return std::vector<std::vector<float>>{fwd.out, fwd.final_state, dq, dk, dv, db, dg};
  };
  check_kernels_thread_count_independent(run);
}

TEST_CASE("delta mixer gradients match finite differences, gated and ungated", "[delta][mixer]") {
  check_mixer_gradients(make_spec("delta", 12, 1), 1, 1, 401);
  check_mixer_gradients(make_spec("delta", 12, 3, {{"chunk_size", 5}}), 2, 13, 402);
  check_mixer_gradients(make_spec("delta", 15, 5, {{"chunk_size", 1}}), 1, 7, 403);
  check_mixer_gradients(make_spec("delta", 12, 1, {{"gated", true}}), 1, 1, 404);
  check_mixer_gradients(make_spec("delta", 12, 3, {{"gated", true}, {"chunk_size", 5}}), 2, 13, 405);
  check_mixer_gradients(make_spec("delta", 14, 2, {{"gated", true}, {"chunk_size", 1}}), 1, 9, 406);
  check_mixer_gradients(make_spec("delta", 24, 3, {{"gated", true}}, 3), 1, 65, 407);
}

TEST_CASE("delta mixer decode matches its parallel forward, with and without prefill", "[delta][mixer]") {
  for (bool gated : {false, true}) {
    for (int seq_len : {1, 7, 64, 65, 130})
      check_forward_matches_decode(make_spec("delta", 12, 3, {{"gated", gated}}), 2, seq_len, 500 + seq_len);
    for (int seq_len : {1, 5, 6, 13})
      check_forward_matches_decode(make_spec("delta", 15, 5, {{"gated", gated}, {"chunk_size", 5}}), 1, seq_len,
                                   520 + seq_len);
    check_forward_matches_decode(make_spec("delta", 14, 2, {{"gated", gated}, {"chunk_size", 1}}), 2, 11, 540);
  }
}

TEST_CASE("delta mixer state is n_heads * head_dim^2 floats at every length", "[delta][mixer]") {
  check_state_bytes_growth(make_spec("delta", 24, 3), StateGrowth::constant);
  check_state_bytes_growth(make_spec("delta", 24, 3, {{"gated", true}}), StateGrowth::constant);
  CHECK(make_mixer(make_spec("delta", 64, 2))->state_bytes(64) == 2u * 32 * 32 * 4);
  CHECK(make_mixer(make_spec("delta", 64, 4, {{"gated", true}}))->state_bytes(4096) == 4u * 16 * 16 * 4);
}

TEST_CASE("delta mixer has one fused q, k, v, b (and a when gated) projection, o, and A_log, dt_bias when gated",
          "[delta][mixer]") {
  auto plain = make_mixer(make_spec("delta", 24, 3));
  CHECK_FALSE(delta_gated(*plain));
  const auto params = plain->params();
  REQUIRE(params.size() == 2);
  CHECK(params[0]->name == "delta.in_proj.weight");
  CHECK(params[0]->value.shape() == Shape{3 * 24 + 3, 24});  // q, k, v, then one beta logit per head
  CHECK(params[1]->name == "delta.o_proj.weight");
  auto gated = make_mixer(make_spec("delta", 24, 3, {{"gated", true}}));
  const auto gated_params = gated->params();
  REQUIRE(gated_params.size() == 4);
  CHECK(gated_params[0]->value.shape() == Shape{3 * 24 + 3 + 3, 24});  // and one decay logit per head
  CHECK(gated_params[2]->name == "delta.A_log");
  CHECK(gated_params[3]->name == "delta.dt_bias");
  for (int i : {2, 3}) {
    CHECK_FALSE(gated_params[i]->decay);
    CHECK(gated_params[i]->value.shape() == Shape{3});
  }
  // Initial decay exp(-A dt) with A in [1, 16), dt in [1e-3, 1e-1]: A_log in [0, log 16), dt_bias < 0.
  for (int h = 0; h < 3; ++h) {
    CHECK(gated_params[2]->value[h] >= 0.0f);
    CHECK(gated_params[2]->value[h] < std::log(16.0f));
    CHECK(gated_params[3]->value[h] < 0.0f);
  }
}

TEST_CASE("delta mixer is deterministic, accumulates gradients and checks its inputs", "[delta][mixer]") {
  for (bool gated : {false, true}) {
    check_chunked_mixer_conformance("delta", {{"gated", gated}});
  }
}

TEST_CASE("delta mixer rejects malformed params by name", "[delta][mixer]") {
  CHECK_THROWS_WITH(make_mixer(make_spec("delta", 12, 3, {{"gated", "yes"}})), Catch::Matchers::Contains("gated"));
  CHECK_THROWS_WITH(make_mixer(make_spec("delta", 12, 3, {{"gate", true}})),
                    Catch::Matchers::Contains("gate") && Catch::Matchers::Contains("gated"));
  CHECK_THROWS_WITH(make_mixer(make_spec("delta", 12, 3, {{"use_short_conv", true}})),
                    Catch::Matchers::Contains("use_short_conv"));
  CHECK_NOTHROW(make_mixer(make_spec("delta", 12, 3, {{"use_short_conv", false}, {"chunk_size", 32}})));
}
