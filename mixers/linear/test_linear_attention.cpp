// Causal linear attention: the chunked CPU kernels against a naive O(L^2) double-precision
// reference (and its finite differences), the feature maps, then the "linear" mixer through the
// generic conformance checks.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/chunked_mixer_checks.h"
#include "mixers/linear/feature_maps.h"
#include "mixers/linear/linear_attention.h"
#include "mixers/linear/linear_attention_mixer.h"
#include "ops/parallel.h"
#include "tests/finite_difference.h"
#include "tests/mixer_checks.h"
#include "tests/random_values.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::mixer_checks;

namespace {

// Normalised attention is only well conditioned for positive features (as phi = elu + 1 gives);
// the unnormalised form is tested on signed ones.
std::vector<float> random_features(int64_t n, Rng& rng, bool positive) {
  return positive ? testing::uniform_values(n, rng, 0.05, 1.0) : testing::normal_values(n, rng);
}

using testing::for_each_seeded_case;
using testing::widen;

// out_t = sum_{s<=t} (a_t.b_s) v_s [/ (sum_{s<=t} a_t.b_s + eps)], written out plainly.
std::vector<double> reference_linear_attention(const std::vector<double>& a, const std::vector<double>& b,
                                               const std::vector<double>& v, const LinearAttentionShape& s,
                                               bool normalize, double eps, std::vector<double>* denominator = nullptr) {
  const int64_t L = s.seq_len, H = s.heads, f = s.feature_dim, D = s.head_dim;
  std::vector<double> out(static_cast<size_t>(s.batch * L * H * D), 0.0);
  if (denominator) denominator->assign(static_cast<size_t>(s.batch * H * L), 0.0);
  for (int64_t bt = 0; bt < s.batch; ++bt)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < L; ++t) {
        const int64_t at = ((bt * L + t) * H + h) * f, ot = ((bt * L + t) * H + h) * D;
        double den = eps;
        for (int64_t u = 0; u <= t; ++u) {
          double w = 0.0;
          for (int64_t i = 0; i < f; ++i) w += a[at + i] * b[((bt * L + u) * H + h) * f + i];
          den += w;
          for (int64_t d = 0; d < D; ++d) out[ot + d] += w * v[((bt * L + u) * H + h) * D + d];
        }
        if (normalize)
          for (int64_t d = 0; d < D; ++d) out[ot + d] /= den;
        if (denominator) (*denominator)[(bt * H + h) * L + t] = den;
      }
  return out;
}

struct KernelInputs {
  std::vector<float> a, b, v;
};

KernelInputs random_inputs(const LinearAttentionShape& s, Rng& rng, bool positive) {
  const int64_t rows = s.batch * s.seq_len * s.heads;
  return {random_features(rows * s.feature_dim, rng, positive), random_features(rows * s.feature_dim, rng, positive),
          random_features(rows * s.head_dim, rng, false)};
}

std::string describe_case(const LinearAttentionShape& s, int64_t chunk, bool normalize) {
  return "B=" + std::to_string(s.batch) + " L=" + std::to_string(s.seq_len) + " H=" + std::to_string(s.heads) +
         " f=" + std::to_string(s.feature_dim) + " Dh=" + std::to_string(s.head_dim) +
         " chunk=" + std::to_string(chunk) + " normalize=" + (normalize ? "true" : "false");
}

const std::vector<bool> kNormalizeBoth{true, false};

}  // namespace

TEST_CASE("chunked linear attention forward matches the naive quadratic reference", "[linear][kernel]") {
  const std::tuple kCases{std::vector<LinearAttentionShape>{
                              {1, 1, 1, 4, 4}, {2, 7, 3, 4, 4}, {1, 65, 2, 8, 8}, {1, 130, 1, 5, 3}, {2, 64, 1, 3, 6}},
                          std::vector<int64_t>{1, 5, 64, 200}, kNormalizeBoth};
  for_each_seeded_case(
      kCases, 1, describe_case, [](const LinearAttentionShape& s, int64_t chunk, bool normalize, Rng& rng) {
        const LinearAttentionOptions o{normalize, 1e-12f, chunk};
        const KernelInputs in = random_inputs(s, rng, normalize);
        const int64_t BH = s.batch * s.heads;
        std::vector<float> out(in.v.size()), den(BH * s.seq_len), kv(BH * s.feature_dim * s.head_dim),
            k_sum(BH * s.feature_dim);
        LinearAttentionKernels::cpu().fwd(in.a.data(), in.b.data(), in.v.data(), out.data(), den.data(), kv.data(), k_sum.data(),
                                 s, o);
        std::vector<double> ref_den;
        const auto ref =
            reference_linear_attention(widen(in.a), widen(in.b), widen(in.v), s, normalize, 1e-12, &ref_den);
        double worst = 0.0;
        for (size_t i = 0; i < out.size(); ++i)
          worst = std::max(worst, std::fabs(out[i] - ref[i]) / (1.0 + std::fabs(ref[i])));
        CHECK(worst < 1e-5);
        if (normalize) {
          double worst_den = 0.0;
          for (size_t i = 0; i < den.size(); ++i)
            worst_den = std::max(worst_den, std::fabs(den[i] - ref_den[i]) / ref_den[i]);
          CHECK(worst_den < 1e-5);
        }
        // The final state is sum_s b_s v_s^T and sum_s b_s over the whole sequence.
        double worst_state = 0.0;
        const int64_t L = s.seq_len, H = s.heads, f = s.feature_dim, D = s.head_dim;
        for (int64_t bt = 0; bt < s.batch; ++bt)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < f; ++i) {
              double z = 0.0;
              for (int64_t t = 0; t < L; ++t) z += in.b[((bt * L + t) * H + h) * f + i];
              worst_state = std::max(worst_state, std::fabs(k_sum[(bt * H + h) * f + i] - z) / (1.0 + std::fabs(z)));
              for (int64_t d = 0; d < D; ++d) {
                double sv = 0.0;
                for (int64_t t = 0; t < L; ++t)
                  sv +=
                      static_cast<double>(in.b[((bt * L + t) * H + h) * f + i]) * in.v[((bt * L + t) * H + h) * D + d];
                worst_state =
                    std::max(worst_state, std::fabs(kv[((bt * H + h) * f + i) * D + d] - sv) / (1.0 + std::fabs(sv)));
              }
            }
        CHECK(worst_state < 1e-5);
      });
}

TEST_CASE("chunked linear attention backward matches finite differences of the reference", "[linear][kernel]") {
  const std::tuple kCases{std::vector<LinearAttentionShape>{{1, 1, 1, 3, 2}, {1, 7, 2, 3, 4}, {2, 13, 1, 5, 3}},
                          std::vector<int64_t>{1, 3, 5, 64}, kNormalizeBoth};
  for_each_seeded_case(
      kCases, 100, describe_case, [](const LinearAttentionShape& s, int64_t chunk, bool normalize, Rng& rng) {
        const LinearAttentionOptions o{normalize, 1e-12f, chunk};
        const KernelInputs in = random_inputs(s, rng, normalize);
        const auto dout = random_features(static_cast<int64_t>(in.v.size()), rng, false);
        std::vector<float> out(in.v.size()), den(s.batch * s.heads * s.seq_len);
        std::vector<float> da(in.a.size()), db(in.b.size()), dv(in.v.size());
        LinearAttentionKernels::cpu().fwd(in.a.data(), in.b.data(), in.v.data(), out.data(), den.data(), nullptr, nullptr, s, o);
        LinearAttentionKernels::cpu().bwd(in.a.data(), in.b.data(), in.v.data(), out.data(), den.data(), dout.data(), da.data(),
                                 db.data(), dv.data(), s, o);

        testing::check_qkv_gradients(in.a, in.b, in.v, dout, da, db, dv,
                                     [&](const auto& a, const auto& b, const auto& v) {
                                       return reference_linear_attention(a, b, v, s, normalize, 1e-12);
                                     },
                                     {"d phi(q)", "d phi(k)", "dv"});
      });
}

TEST_CASE("linear attention decode steps continue from the forward's final state", "[linear][kernel]") {
  const LinearAttentionShape s{2, 23, 3, 5, 4};
  for (bool normalize : {true, false}) {
    const LinearAttentionOptions o{normalize, 1e-12f, 5};
    INFO(describe_case(s, o.chunk_size, o.normalize));
    Rng rng(7);
    const KernelInputs in = random_inputs(s, rng, normalize);
    const int64_t BH = s.batch * s.heads, f = s.feature_dim, D = s.head_dim, L = s.seq_len, H = s.heads;
    std::vector<float> out(in.v.size()), den(BH * L);
    LinearAttentionKernels::cpu().fwd(in.a.data(), in.b.data(), in.v.data(), out.data(), den.data(), nullptr, nullptr, s, o);
    for (int64_t prefix : {0, 1, 11, 22}) {
      INFO("prefix " << prefix);
      std::vector<float> kv(BH * f * D), k_sum(BH * f);
      if (prefix > 0) {
        // The prefix is its own batch of shorter sequences: copy it out.
        LinearAttentionShape ps = s;
        ps.seq_len = prefix;
        std::vector<float> pa(s.batch * prefix * H * f), pb(pa.size()), pv(s.batch * prefix * H * D);
        std::vector<float> pout(pv.size()), pden(BH * prefix);
        for (int64_t bt = 0; bt < s.batch; ++bt) {
          std::copy(in.a.begin() + bt * L * H * f, in.a.begin() + (bt * L + prefix) * H * f,
                    pa.begin() + bt * prefix * H * f);
          std::copy(in.b.begin() + bt * L * H * f, in.b.begin() + (bt * L + prefix) * H * f,
                    pb.begin() + bt * prefix * H * f);
          std::copy(in.v.begin() + bt * L * H * D, in.v.begin() + (bt * L + prefix) * H * D,
                    pv.begin() + bt * prefix * H * D);
        }
        LinearAttentionKernels::cpu().fwd(pa.data(), pb.data(), pv.data(), pout.data(), pden.data(), kv.data(), k_sum.data(), ps,
                                 o);
      }
      double worst = 0.0;
      std::vector<float> a_t(BH * f), b_t(BH * f), v_t(BH * D), o_t(BH * D);
      for (int64_t t = prefix; t < L; ++t) {
        for (int64_t bt = 0; bt < s.batch; ++bt) {
          std::copy_n(in.a.begin() + (bt * L + t) * H * f, H * f, a_t.begin() + bt * H * f);
          std::copy_n(in.b.begin() + (bt * L + t) * H * f, H * f, b_t.begin() + bt * H * f);
          std::copy_n(in.v.begin() + (bt * L + t) * H * D, H * D, v_t.begin() + bt * H * D);
        }
        LinearAttentionKernels::cpu().decode(a_t.data(), b_t.data(), v_t.data(), kv.data(), k_sum.data(), o_t.data(), s, o);
        for (int64_t bt = 0; bt < s.batch; ++bt)
          for (int64_t c = 0; c < H * D; ++c) {
            const double ref = out[(bt * L + t) * H * D + c];
            worst = std::max(worst, std::fabs(o_t[bt * H * D + c] - ref) / (1.0 + std::fabs(ref)));
          }
      }
      CHECK(worst < 1e-5);
    }
  }
}

TEST_CASE("linear attention kernels give bit-identical results with 1 and 2 threads", "[linear][kernel]") {
  const LinearAttentionShape s{3, 70, 3, 8, 8};
  const LinearAttentionOptions o{true, 1e-12f, 16};
  Rng rng(9);
  const KernelInputs in = random_inputs(s, rng, true);
  const auto dout = random_features(static_cast<int64_t>(in.v.size()), rng, false);
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> out(in.v.size()), den(s.batch * s.heads * s.seq_len), da(in.a.size()), db(in.b.size()),
        dv(in.v.size());
    LinearAttentionKernels::cpu().fwd(in.a.data(), in.b.data(), in.v.data(), out.data(), den.data(), nullptr, nullptr, s, o);
    LinearAttentionKernels::cpu().bwd(in.a.data(), in.b.data(), in.v.data(), out.data(), den.data(), dout.data(), da.data(),
                             db.data(), dv.data(), s, o);
    return std::vector<std::vector<float>>{out, den, da, db, dv};
  };
  check_kernels_thread_count_independent(run);
}

TEST_CASE("feature maps compute identity and elu + 1 with exact derivatives", "[linear][kernel]") {
  const std::vector<float> x{-3.0f, -1.0f, -0.25f, 0.0f, 0.5f, 2.0f};
  std::vector<float> phi(x.size()), dx(x.size());
  FeatureMapKernels::cpu().fwd(FeatureMap::elu_plus_one, x.data(), phi.data(), 2, 3);
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("x=" << x[i]);
    CHECK(phi[i] == Approx(x[i] > 0 ? x[i] + 1.0 : std::exp(static_cast<double>(x[i]))).epsilon(1e-6));
  }
  const std::vector<float> dphi{0.3f, -1.2f, 0.7f, 1.5f, -0.4f, 2.0f};
  FeatureMapKernels::cpu().bwd(FeatureMap::elu_plus_one, x.data(), dphi.data(), dx.data(), 2, 3);
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == 0.0f) continue;  // the kink: one-sided derivatives agree (1), FD across it does not matter
    const double h = 1e-4, xi = x[i];
    auto elu1 = [](double v) { return v > 0 ? v + 1.0 : std::exp(v); };
    const double numeric = (elu1(xi + h) - elu1(xi - h)) / (2 * h) * dphi[i];
    INFO("x=" << x[i]);
    CHECK(dx[i] == Approx(numeric).epsilon(1e-5));
  }
  FeatureMapKernels::cpu().fwd(FeatureMap::identity, x.data(), phi.data(), 3, 2);
  CHECK(phi == x);
  FeatureMapKernels::cpu().bwd(FeatureMap::identity, x.data(), dphi.data(), dx.data(), 3, 2);
  CHECK(dx == dphi);
  CHECK(feature_map_width(FeatureMap::elu_plus_one, 7) == 7);
  CHECK(parse_feature_map("elu") == FeatureMap::elu_plus_one);
  CHECK(parse_feature_map("identity") == FeatureMap::identity);
  CHECK_THROWS_WITH(parse_feature_map("softplus"),
                    "unknown feature map 'softplus'; known feature maps: identity, elu, relu, taylor");
}

TEST_CASE("linear mixer gradients match finite differences", "[linear][mixer]") {
  check_mixer_gradients(make_spec("linear", 12, 1), 1, 1, 401);
  check_mixer_gradients(make_spec("linear", 12, 3, {{"chunk_size", 5}}), 2, 13, 402);
  check_mixer_gradients(make_spec("linear", 12, 3, {{"chunk_size", 3}, {"normalize", false}}), 1, 11, 403);
  check_mixer_gradients(make_spec("linear", 12, 3, {{"feature_map", "identity"}, {"normalize", false}}), 2, 9, 404);
  check_mixer_gradients(make_spec("linear", 12, 3, {{"feature_dim", 6}, {"chunk_size", 4}}), 1, 10, 405);
  check_mixer_gradients(make_spec("linear", 24, 3, {}, 3), 1, 65, 406);
}

TEST_CASE("linear mixer decode matches its parallel forward, with and without prefill", "[linear][mixer]") {
  for (int seq_len : {1, 7, 63, 64, 65, 130})
    check_forward_matches_decode(make_spec("linear", 12, 3), 2, seq_len, 500 + seq_len);
  for (int seq_len : {1, 5, 6, 13})
    check_forward_matches_decode(make_spec("linear", 12, 3, {{"chunk_size", 5}}), 1, seq_len, 520 + seq_len);
  check_forward_matches_decode(make_spec("linear", 12, 1, {{"feature_map", "identity"}, {"normalize", false}}), 2, 17,
                               540);
  check_forward_matches_decode(make_spec("linear", 12, 3, {{"feature_dim", 6}, {"chunk_size", 4}}), 2, 11, 541);
}

TEST_CASE("linear mixer state is (f * head_dim + f) * n_heads floats at every length", "[linear][mixer]") {
  check_state_bytes_growth(make_spec("linear", 24, 3), StateGrowth::constant);
  CHECK(make_mixer(make_spec("linear", 64, 2))->state_bytes(64) == (32u * 32 + 32) * 2 * 4);
  CHECK(make_mixer(make_spec("linear", 64, 2, {{"feature_dim", 16}}))->state_bytes(4096) == (16u * 32 + 16) * 2 * 4);
}

TEST_CASE("linear mixer defaults to elu + 1 with the head width as feature width", "[linear][mixer]") {
  auto mixer = make_mixer(make_spec("linear", 24, 3));
  CHECK(linear_feature_map(*mixer) == FeatureMap::elu_plus_one);
  CHECK(linear_feature_width(*mixer) == 8);
  // q and k are projected to feature_dim per head, v and the output keep d_model.
  auto narrow = make_mixer(make_spec("linear", 24, 3, {{"feature_dim", 2}}));
  const auto params = narrow->params();  // q, k and v fused, then o
  REQUIRE(params.size() == 2);
  CHECK(params[0]->value.shape() == Shape{6 + 6 + 24, 24});
  CHECK(params[1]->value.shape() == Shape{24, 24});
}

TEST_CASE("linear mixer is deterministic, accumulates gradients and checks its inputs", "[linear][mixer]") {
  check_chunked_mixer_conformance("linear");
}

TEST_CASE("linear mixer rejects unknown feature maps and malformed params by name", "[linear][mixer]") {
  CHECK_THROWS_WITH(make_mixer(make_spec("linear", 12, 3, {{"feature_map", "softplus"}})),
                    Catch::Matchers::Contains("'softplus'") && Catch::Matchers::Contains("identity, elu"));
  CHECK_THROWS_WITH(make_mixer(make_spec("linear", 12, 3, {{"featuremap", "elu"}})),
                    Catch::Matchers::Contains("featuremap") && Catch::Matchers::Contains("feature_map"));
  CHECK_THROWS_AS(make_mixer(make_spec("linear", 12, 3, {{"feature_dim", 0}})), std::invalid_argument);
  CHECK_THROWS_AS(make_mixer(make_spec("linear", 12, 3, {{"normalize", 1}})), std::invalid_argument);
  CHECK_NOTHROW(make_mixer(make_spec("linear", 12, 3, {{"chunk_size", 32.0}, {"eps", 1e-6}})));
}
