// Gated linear attention: the chunked CPU kernels against a plain recurrence in double (and its
// finite differences), the decay and gate helpers, then the "gla" mixer in each decay mode through
// the generic conformance checks.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/chunked_mixer_checks.h"
#include "mixers/gla/gla.h"
#include "mixers/gla/gla_mixer.h"
#include "mixers/gla/log_sigmoid_decay.h"
#include "mixers/gla/triangular_matmul_cpu.h"
#include "ops/parallel.h"
#include "ops/simd_math.h"
#include "ops/swish_gate.h"
#include "tests/finite_difference.h"
#include "tests/mixer_checks.h"
#include "tests/random_values.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::mixer_checks;

namespace {

struct GlaInputs {
  std::vector<float> q, k, v, g;
};

// Log decays uniform in [min_log_decay, 0]: strong decays (e^-20 per step) are included on purpose.
GlaInputs random_gla_inputs(const GlaShape& s, Rng& rng, double min_log_decay) {
  const int64_t rows = s.batch * s.seq_len * s.heads;
  GlaInputs in;
  in.q = testing::normal_values(rows * s.key_dim, rng);
  in.k = testing::normal_values(rows * s.key_dim, rng);
  in.v = testing::normal_values(rows * s.value_dim, rng);
  in.g = testing::uniform_values(rows * s.decay_width(), rng, min_log_decay, 0.0);
  return in;
}

// S_t = diag(exp(g_t)) S_{t-1} + k_t v_t^T, out_t = scale S_t^T q_t, written out plainly in double.
// Returns out; final_state (when given) receives S after the last step, [batch, heads, dk, dv].
std::vector<double> reference_gla(const std::vector<double>& q, const std::vector<double>& k,
                                  const std::vector<double>& v, const std::vector<double>& g, const GlaShape& s,
                                  double scale, std::vector<double>* final_state = nullptr) {
  const int64_t L = s.seq_len, H = s.heads, dk = s.key_dim, dv = s.value_dim, dg = s.decay_width();
  std::vector<double> out(static_cast<size_t>(s.batch * L * H * dv), 0.0);
  if (final_state) final_state->assign(static_cast<size_t>(s.batch * H * dk * dv), 0.0);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> S(static_cast<size_t>(dk * dv), 0.0);
      for (int64_t t = 0; t < L; ++t) {
        const int64_t row = (b * L + t) * H + h;
        for (int64_t i = 0; i < dk; ++i) {
          const double decay = std::exp(g[row * dg + (dg == 1 ? 0 : i)]);
          for (int64_t j = 0; j < dv; ++j) S[i * dv + j] = decay * S[i * dv + j] + k[row * dk + i] * v[row * dv + j];
        }
        for (int64_t j = 0; j < dv; ++j) {
          double o = 0.0;
          for (int64_t i = 0; i < dk; ++i) o += q[row * dk + i] * S[i * dv + j];
          out[row * dv + j] = scale * o;
        }
      }
      if (final_state)
        std::copy(S.begin(), S.end(), final_state->begin() + (b * H + h) * dk * dv);
    }
  return out;
}

using testing::for_each_seeded_case;
using testing::numeric_gradient;
using testing::weighted_sum;
using testing::widen;
using testing::worst_mixed_error;

std::string describe(const GlaShape& s, int64_t chunk) {
  return "B=" + std::to_string(s.batch) + " L=" + std::to_string(s.seq_len) + " H=" + std::to_string(s.heads) +
         " dk=" + std::to_string(s.key_dim) + " dv=" + std::to_string(s.value_dim) +
         " decay=" + (s.channel_decay ? "channel" : "scalar") + " chunk=" + std::to_string(chunk);
}

std::string describe_case(const GlaShape& s, int64_t chunk, double min_log_decay) {
  return describe(s, chunk) + " min log decay " + std::to_string(min_log_decay);
}

struct KernelRun {
  std::vector<float> out, chunk_states, final_state;
};

KernelRun run_forward(const GlaInputs& in, const GlaShape& s, const GlaOptions& o) {
  KernelRun r;
  r.out.resize(static_cast<size_t>(s.batch * s.seq_len * s.heads * s.value_dim));
  r.chunk_states.resize(
      static_cast<size_t>(s.batch * s.heads * gla_num_chunks(s.seq_len, o.chunk_size) * s.key_dim * s.value_dim));
  r.final_state.resize(static_cast<size_t>(s.batch * s.heads * s.key_dim * s.value_dim));
  GlaKernels::cpu().fwd(in.q.data(), in.k.data(), in.v.data(), in.g.data(), r.out.data(), r.chunk_states.data(),
              r.final_state.data(), s, o);
  return r;
}

const std::vector<GlaShape> kKernelShapes{{1, 1, 1, 4, 4, true},  {2, 7, 3, 5, 3, true},  {1, 65, 2, 8, 8, true},
                                          {1, 130, 1, 3, 7, true}, {1, 1, 1, 4, 4, false}, {2, 7, 3, 5, 3, false},
                                          {1, 65, 2, 8, 8, false}, {1, 130, 1, 3, 7, false}};

}  // namespace

TEST_CASE("simd exp and log1p match the standard library to float precision", "[gla][kernel]") {
  std::vector<float> x;
  for (double v = -87.0; v <= 88.0; v += 0.0037) x.push_back(static_cast<float>(v));
  std::vector<float> y(x.size());
  simd_exp_array(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("x=" << x[i]);
    const double exact = std::exp(static_cast<double>(x[i]));
    REQUIRE(std::fabs(y[i] - exact) <= 1e-6 * exact);
    if (i % 97 == 0) REQUIRE(simd_exp(x[i]) == y[i]);  // one value: the same arithmetic
  }
  CHECK(simd_exp(0.0f) == 1.0f);
  CHECK(simd_exp(-87.5f) == 0.0f);  // a decay that has run out is zero, not a denormal
  CHECK(simd_exp(-1e30f) == 0.0f);

  x.clear();
  for (double v = -0.99; v <= 1.0; v += 1.3e-4) x.push_back(static_cast<float>(v));
  for (double v = 1e-30; v < 1.0; v *= 1.7) x.push_back(static_cast<float>(v));  // tiny u keep their digits
  for (double v = 1.0; v < 1e6; v *= 1.3) x.push_back(static_cast<float>(v));
  y.resize(x.size());
  simd_log1p_array(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("u=" << x[i]);
    const double exact = std::log1p(static_cast<double>(x[i]));
    REQUIRE(std::fabs(y[i] - exact) <= 1e-6 * std::fabs(exact) + 1e-38);
  }
}

TEST_CASE("triangular chunk products and lower scores match plain loops", "[gla][kernel]") {
  uint64_t seed = 70;
  for (int64_t n : {1, 3, 4, 5, 17, 64})
    for (int64_t width : {1, 5, 16, 17, 33}) {
      INFO("n=" << n << " width=" << width << " seed " << seed);
      Rng rng(seed++);
      const int64_t ldl = n + 2, ldb = width + 3, ldc = width + 1;
      std::vector<float> l(static_cast<size_t>(n * ldl), 0.0f), b(static_cast<size_t>(n * ldb));
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k <= i; ++k) l[i * ldl + k] = static_cast<float>(rng.normal());
      for (auto& e : b) e = static_cast<float>(rng.normal());
      std::vector<float> scratch;
      for (TriangularSide side : {TriangularSide::lower, TriangularSide::lower_transposed}) {
        std::vector<float> c(static_cast<size_t>(n * ldc), 0.5f);
        triangular_matmul_acc_cpu(l.data(), ldl, side, b.data(), ldb, c.data(), ldc, n, width, scratch);
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < ldc; ++j) {
            double want = 0.5;
            for (int64_t k = 0; k < n && j < width; ++k)
              want += (side == TriangularSide::lower ? l[i * ldl + k] : l[k * ldl + i]) * double(b[k * ldb + j]);
            REQUIRE(c[i * ldc + j] == Approx(want).margin(1e-5));  // the padding column stays 0.5
          }
      }
      // Scores: a [n, depth] times bt [depth, n], kept on and below the diagonal.
      const int64_t depth = width, lda = depth + 1, ldbt = n + 5, lds = n + 1;
      const std::vector<float> a = testing::normal_values(n * lda, rng), bt = testing::normal_values(depth * ldbt, rng);
      std::vector<float> scores(static_cast<size_t>(n * lds), 7.0f);
      lower_scores_cpu(a.data(), lda, bt.data(), ldbt, 0.5f, scores.data(), lds, n, depth, scratch);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double want = 0.0;
          for (int64_t k = 0; k < depth && j <= i; ++k) want += 0.5 * a[i * lda + k] * double(bt[k * ldbt + j]);
          REQUIRE(scores[i * lds + j] == Approx(want).margin(1e-5));
        }
      for (int64_t i = 0; i < n; ++i) REQUIRE(scores[i * lds + n] == 7.0f);
    }
}

TEST_CASE("chunked gated linear attention forward matches the plain recurrence", "[gla][kernel]") {
  const std::tuple kCases{kKernelShapes, std::vector<int64_t>{1, 5, 64, 200}, std::vector<double>{-0.3, -20.0}};
  for_each_seeded_case(kCases, 1, describe_case, [](const GlaShape& s, int64_t chunk, double min_log_decay, Rng& rng) {
    const GlaOptions o{chunk, 0.7f};
    const GlaInputs in = random_gla_inputs(s, rng, min_log_decay);
    const KernelRun r = run_forward(in, s, o);
    std::vector<double> final_state;
    const auto expected = reference_gla(widen(in.q), widen(in.k), widen(in.v), widen(in.g), s, 0.7, &final_state);
    // Exponents are differences of chunk-cumulative log decays, each rounded to float: a chunk
    // whose decays sum to -650 leaves ulp(650) ~ 6e-5 of relative error in every factor.
    const double tol = min_log_decay < -1.0 && chunk > 5 ? 2e-4 : 2e-5;
    CHECK(worst_mixed_error(r.out, expected) < tol);
    CHECK(worst_mixed_error(r.final_state, final_state) < tol);
  });
}

TEST_CASE("chunked gated linear attention stays finite under decays far beyond float range", "[gla][kernel]") {
  // 64 steps of e^-60 per channel: a q e^{B} / k e^{-B} factorisation would reach e^{3840}.
  const GlaShape s{1, 64, 1, 4, 4, true};
  Rng rng(11);
  GlaInputs in = random_gla_inputs(s, rng, 0.0);
  for (auto& g : in.g) g = -60.0f;
  const GlaOptions o{64, 1.0f};
  const KernelRun r = run_forward(in, s, o);
  const auto expected = reference_gla(widen(in.q), widen(in.k), widen(in.v), widen(in.g), s, 1.0);
  CHECK(worst_mixed_error(r.out, expected) < 1e-5);
  std::vector<float> dq(in.q.size()), dk(in.k.size()), dv(in.v.size()), dg(in.g.size());
  GlaKernels::cpu().bwd(in.q.data(), in.k.data(), in.v.data(), in.g.data(), r.chunk_states.data(), r.out.data(), dq.data(),
              dk.data(), dv.data(), dg.data(), s, o);
  for (const auto* grad : {&dq, &dk, &dv, &dg})
    for (float e : *grad) REQUIRE(std::isfinite(e));
}

TEST_CASE("chunked gated linear attention backward matches finite differences of the recurrence",
          "[gla][kernel]") {
  const std::vector<GlaShape> shapes{
      {1, 1, 1, 3, 2, true}, {2, 9, 2, 3, 4, true}, {1, 13, 1, 5, 3, false}, {2, 9, 2, 4, 3, false}};
  // Mild decays take the factorised scores; -12 per step pushes chunks past e^-40 onto the per-pair forms.
  const std::tuple kCases{shapes, std::vector<int64_t>{1, 4, 64}, std::vector<double>{-1.5, -12.0}};
  for_each_seeded_case(
      kCases, 100, describe_case, [](const GlaShape& s, int64_t chunk, double min_log_decay, Rng& rng) {
        const GlaOptions o{chunk, 0.6f};
        const GlaInputs in = random_gla_inputs(s, rng, min_log_decay);
        const std::vector<float> dout = testing::normal_values(s.batch * s.seq_len * s.heads * s.value_dim, rng);
        const KernelRun r = run_forward(in, s, o);
        std::vector<float> dq(in.q.size()), dk(in.k.size()), dv(in.v.size()), dg(in.g.size());
        GlaKernels::cpu().bwd(in.q.data(), in.k.data(), in.v.data(), in.g.data(), r.chunk_states.data(), dout.data(), dq.data(),
                    dk.data(), dv.data(), dg.data(), s, o);

        std::vector<std::vector<double>> args{widen(in.q), widen(in.k), widen(in.v), widen(in.g)};
        const std::vector<const std::vector<float>*> grads{&dq, &dk, &dv, &dg};
        const char* names[] = {"q", "k", "v", "log_decay"};
        auto loss = [&]() { return weighted_sum(reference_gla(args[0], args[1], args[2], args[3], s, 0.6), dout); };
        for (size_t a = 0; a < args.size(); ++a) {
          INFO("gradient of " << names[a]);
          CHECK(worst_mixed_error(*grads[a], numeric_gradient(args[a], 1e-6, loss)) < 1e-4);
        }
      });
}

TEST_CASE("gated linear attention decode steps reproduce the chunked forward", "[gla][kernel]") {
  for (bool channel : {true, false}) {
    const GlaShape s{2, 11, 3, 5, 4, channel};
    const GlaOptions o{4, 0.5f};
    INFO(describe(s, o.chunk_size));
    Rng rng(channel ? 21 : 22);
    const GlaInputs in = random_gla_inputs(s, rng, -2.0);
    const KernelRun r = run_forward(in, s, o);
    const int64_t H = s.heads, dk = s.key_dim, dv = s.value_dim, dg = s.decay_width();
    std::vector<float> state(static_cast<size_t>(s.batch * H * dk * dv), 0.0f), q_t(s.batch * H * dk),
        k_t(q_t.size()), v_t(s.batch * H * dv), g_t(s.batch * H * dg), o_t(v_t.size());
    for (int64_t t = 0; t < s.seq_len; ++t) {
      for (int64_t b = 0; b < s.batch; ++b) {
        const int64_t row = (b * s.seq_len + t) * H;
        std::copy(in.q.begin() + row * dk, in.q.begin() + (row + H) * dk, q_t.begin() + b * H * dk);
        std::copy(in.k.begin() + row * dk, in.k.begin() + (row + H) * dk, k_t.begin() + b * H * dk);
        std::copy(in.v.begin() + row * dv, in.v.begin() + (row + H) * dv, v_t.begin() + b * H * dv);
        std::copy(in.g.begin() + row * dg, in.g.begin() + (row + H) * dg, g_t.begin() + b * H * dg);
      }
      GlaKernels::cpu().decode(q_t.data(), k_t.data(), v_t.data(), g_t.data(), state.data(), o_t.data(), s, o);
      for (int64_t b = 0; b < s.batch; ++b) {
        INFO("t=" << t << " b=" << b);
        const std::vector<float> got(o_t.begin() + b * H * dv, o_t.begin() + (b + 1) * H * dv);
        const std::vector<float> want(r.out.begin() + (b * s.seq_len + t) * H * dv,
                                      r.out.begin() + (b * s.seq_len + t + 1) * H * dv);
        CHECK(worst_mixed_error(got, want) < 1e-5);
      }
    }
    CHECK(worst_mixed_error(state, r.final_state) < 1e-5);
  }
}

TEST_CASE("gated linear attention kernels give bit-identical results on 1 and 2 threads", "[gla][kernel]") {
  for (bool channel : {true, false}) {
    const GlaShape s{3, 70, 2, 16, 16, channel};
    const GlaOptions o{16, 0.25f};
    Rng rng(31);
    const GlaInputs in = random_gla_inputs(s, rng, -1.0);
    const std::vector<float> dout = testing::normal_values(s.batch * s.seq_len * s.heads * s.value_dim, rng);
    auto run = [&](int threads) {
      set_num_threads(threads);
      KernelRun r = run_forward(in, s, o);
      std::vector<float> dq(in.q.size()), dk(in.k.size()), dv(in.v.size()), dg(in.g.size());
      GlaKernels::cpu().bwd(in.q.data(), in.k.data(), in.v.data(), in.g.data(), r.chunk_states.data(), dout.data(), dq.data(),
                  dk.data(), dv.data(), dg.data(), s, o);
      return std::vector<std::vector<float>>{r.out, r.final_state, dq, dk, dv, dg};
    };
    check_kernels_thread_count_independent(run);
  }
}

TEST_CASE("log-sigmoid decay and the swish gate have exact derivatives", "[gla][kernel]") {
  const std::vector<float> z{-40.0f, -3.0f, -0.5f, 0.0f, 0.7f, 4.0f, 30.0f};
  const std::vector<float> up{0.3f, -1.1f, 0.8f, 1.4f, -0.6f, 2.0f, 0.9f};
  const size_t n = z.size();
  std::vector<float> g(n), dz(n);
  LogSigmoidDecayKernels::cpu().fwd(z.data(), g.data(), static_cast<int64_t>(n), 16.0f);
  LogSigmoidDecayKernels::cpu().bwd(z.data(), up.data(), dz.data(), static_cast<int64_t>(n), 16.0f);
  auto log_sigmoid = [](double x) { return -std::log1p(std::exp(-x)); };
  for (size_t i = 0; i < n; ++i) {
    INFO("z=" << z[i]);
    CHECK(g[i] <= 0.0f);
    CHECK(g[i] == Approx(log_sigmoid(z[i]) / 16.0).epsilon(1e-5).margin(1e-30));
    const double h = 1e-4, numeric = (log_sigmoid(z[i] + h) - log_sigmoid(z[i] - h)) / (2 * h) / 16.0 * up[i];
    CHECK(dz[i] == Approx(numeric).epsilon(1e-4).margin(1e-12));
  }

  // out = a * silu(r), gate rows 3 apart with width 2 (a column block of a wider projection).
  const std::vector<float> a{0.5f, -1.5f, 2.0f, 0.25f}, dout{1.0f, -0.7f, 0.4f, 1.3f};
  const std::vector<float> gate{-2.0f, 0.3f, 99.0f, 1.7f, -0.1f, 99.0f};
  std::vector<float> out(4), da(4), dgate(6, 0.0f);
  SwishGateKernels::cpu().fwd(a.data(), gate.data(), out.data(), 2, 2, 3);
  SwishGateKernels::cpu().bwd(a.data(), gate.data(), dout.data(), da.data(), dgate.data(), 2, 2, 3, 3);
  auto silu = [](double x) { return x / (1.0 + std::exp(-x)); };
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 2; ++i) {
      const int j = r * 2 + i, gj = r * 3 + i;
      const double h = 1e-4, dsilu = (silu(gate[gj] + h) - silu(gate[gj] - h)) / (2 * h);
      CHECK(out[j] == Approx(a[j] * silu(gate[gj])).epsilon(1e-6));
      CHECK(da[j] == Approx(dout[j] * silu(gate[gj])).epsilon(1e-6));
      CHECK(dgate[gj] == Approx(dout[j] * a[j] * dsilu).epsilon(1e-4));
    }
  CHECK(dgate[2] == 0.0f);  // the columns between gate blocks are left alone
  CHECK(dgate[5] == 0.0f);
}

// The per-head norm makes the output invariant to the scale of o_t, and o_0 = c v_0 is a single
// term, so near c = q_0.k_0 = 0 the normalised output jumps from -v_0 to +v_0; a finite difference
// across that jump is meaningless. Small and odd sizes are therefore checked without the norm, the
// norm at head_dim 16 where, at these seeds, no difference straddles a jump.
TEST_CASE("gla mixer gradients match finite differences in every decay mode", "[gla][mixer]") {
  for (const char* decay : {"channel", "scalar", "fixed"}) {
    SECTION(decay) {
      check_mixer_gradients(make_spec("gla", 12, 1, {{"decay", decay}}), 1, 1, 401);
      check_mixer_gradients(
          make_spec("gla", 12, 3, {{"decay", decay}, {"chunk_size", 5}, {"normalize_output", false}}), 2, 13, 402);
      check_mixer_gradients(
          make_spec("gla", 10, 2, {{"decay", decay}, {"chunk_size", 3}, {"normalize_output", false}}), 1, 11, 403);
      check_mixer_gradients(
          make_spec("gla", 9, 3, {{"decay", decay}, {"output_gate", false}, {"normalize_output", false}}), 2, 7, 404);
      check_mixer_gradients(make_spec("gla", 32, 2, {{"decay", decay}, {"chunk_size", 5}}), 2, 20, 405);
      check_mixer_gradients(make_spec("gla", 32, 2, {{"decay", decay}, {"output_gate", false}}), 1, 9, 406);
    }
  }
  check_mixer_gradients(
      make_spec("gla", 12, 2, {{"gate_rank", 3}, {"gate_logit_normalizer", 4.0}, {"normalize_output", false}}), 1, 9,
      407);
  check_mixer_gradients(make_spec("gla", 24, 3, {{"normalize_output", false}}, 3), 1, 65, 408);
}

TEST_CASE("gla mixer decode matches its parallel forward, with and without prefill", "[gla][mixer]") {
  for (const char* decay : {"channel", "scalar", "fixed"}) {
    SECTION(decay) {
      for (int seq_len : {1, 7, 64, 65, 130})
        check_forward_matches_decode(make_spec("gla", 12, 3, {{"decay", decay}}), 2, seq_len, 500 + seq_len);
      for (int seq_len : {1, 5, 6, 13})
        check_forward_matches_decode(make_spec("gla", 10, 2, {{"decay", decay}, {"chunk_size", 5}}), 1, seq_len,
                                     520 + seq_len);
      const nlohmann::json bare{{"decay", decay}, {"normalize_output", false}, {"output_gate", false}};
      check_forward_matches_decode(make_spec("gla", 7, 1, bare), 3, 17, 540);
    }
  }
}

TEST_CASE("gla mixer state is n_heads * head_dim^2 floats at every length", "[gla][mixer]") {
  for (const char* decay : {"channel", "scalar", "fixed"}) {
    check_state_bytes_growth(make_spec("gla", 24, 3, {{"decay", decay}}), StateGrowth::constant);
    CHECK(make_mixer(make_spec("gla", 64, 2, {{"decay", decay}}))->state_bytes(4096) == 2u * 32 * 32 * 4);
  }
}

TEST_CASE("gla mixer defaults to per-channel decay with a rank-16 gate and has no gate params when fixed",
          "[gla][mixer]") {
  auto mixer = make_mixer(make_spec("gla", 24, 3));
  CHECK(gla_decay(*mixer) == GlaDecay::channel);
  const auto params = mixer->params();  // fused q/k/v, o, output gate, gate down, gate up (+ bias)
  REQUIRE(params.size() == 6);
  CHECK(params[0]->value.shape() == Shape{3 * 24, 24});
  CHECK(params[3]->value.shape() == Shape{16, 24});
  CHECK(params[4]->value.shape() == Shape{24, 16});
  CHECK(params[5]->value.shape() == Shape{24});
  auto scalar_mixer = make_mixer(make_spec("gla", 24, 3, {{"decay", "scalar"}}));
  const auto scalar = scalar_mixer->params();
  REQUIRE(scalar.size() == 5);
  CHECK(scalar[3]->value.shape() == Shape{3, 24});
  CHECK(make_mixer(make_spec("gla", 24, 3, {{"decay", "fixed"}, {"output_gate", false}}))->params().size() == 2);
}

TEST_CASE("gla mixer is deterministic, accumulates gradients and checks its inputs", "[gla][mixer]") {
  for (const char* decay : {"channel", "scalar", "fixed"}) {
    check_chunked_mixer_conformance("gla", {{"decay", decay}});
  }
}

TEST_CASE("gla mixer rejects unknown decays and malformed params by name", "[gla][mixer]") {
  CHECK_THROWS_WITH(make_mixer(make_spec("gla", 12, 3, {{"decay", "vector"}})),
                    Catch::Matchers::Contains("'vector'") && Catch::Matchers::Contains("channel, scalar, fixed"));
  CHECK_THROWS_AS(make_mixer(make_spec("gla", 12, 3, {{"gate_rank", 0}})), std::invalid_argument);
  CHECK_THROWS_WITH(make_mixer(make_spec("gla", 12, 3, {{"gate_logit_normalizer", 0.0}})),
                    Catch::Matchers::Contains("gate_logit_normalizer"));
  CHECK_THROWS_AS(make_mixer(make_spec("gla", 12, 3, {{"normalize_output", 1}})), std::invalid_argument);
}
