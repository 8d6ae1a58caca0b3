// Linear-attention feature maps: each map's forward against a plain double-precision reference,
// its backward against finite differences of that reference, the Taylor map's width and kernel
// identity, then the "linear" mixer with relu and taylor features: conformance checks for taylor,
// decode and an exact equivalence on relu's positive piece for relu.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/linear/feature_maps.h"
#include "mixers/linear/linear_attention_mixer.h"
#include "tests/mixer_checks.h"
#include "tests/random_values.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::mixer_checks;

namespace {

const std::vector<FeatureMap> kAllMaps{FeatureMap::identity, FeatureMap::elu_plus_one, FeatureMap::relu,
                                       FeatureMap::taylor};

// phi of one row, written out from each map's definition.
std::vector<double> reference_phi(FeatureMap map, const std::vector<double>& x) {
  const size_t d = x.size();
  std::vector<double> phi;
  switch (map) {
    case FeatureMap::identity:
      return x;
    case FeatureMap::elu_plus_one:
      for (double v : x) phi.push_back(v > 0 ? v + 1.0 : std::exp(v));
      return phi;
    case FeatureMap::relu:
      for (double v : x) phi.push_back(v > 0 ? v : 0.0);
      return phi;
    case FeatureMap::taylor: {
      // Based's TaylorExp: [1, x / sqrt(sqrt(d)), vec(x x^T) / sqrt(2) / sqrt(d)].
      const double rd = std::sqrt(static_cast<double>(d)), rrd = std::sqrt(rd), r2 = std::sqrt(2.0);
      phi.push_back(1.0);
      for (double v : x) phi.push_back(v / rrd);
      for (size_t i = 0; i < d; ++i)
        for (size_t j = 0; j < d; ++j) phi.push_back(x[i] * x[j] / r2 / rd);
      return phi;
    }
  }
  return phi;
}

using testing::for_each_seeded_case;
using testing::normal_values;

std::vector<double> row_of(const std::vector<float>& x, int64_t r, int64_t d) {
  return std::vector<double>(x.begin() + r * d, x.begin() + (r + 1) * d);
}

struct MapCase {
  int64_t rows, dim;
};
const std::tuple<std::vector<FeatureMap>, std::vector<MapCase>> kCases{kAllMaps,
                                                                       {{1, 1}, {3, 2}, {7, 5}, {2, 16}, {5, 13}}};

std::string describe_case(FeatureMap map, const MapCase& c) {
  return feature_map_name(map) + " rows=" + std::to_string(c.rows) + " dim=" + std::to_string(c.dim);
}

}  // namespace

TEST_CASE("every feature map's forward matches its plain definition", "[feature_map][kernel]") {
  for_each_seeded_case(kCases, 11, describe_case, [](FeatureMap map, const MapCase& c, Rng& rng) {
    const auto x = normal_values(c.rows * c.dim, rng);
    const int64_t f = feature_map_width(map, c.dim);
    std::vector<float> phi(static_cast<size_t>(c.rows * f), NAN);
    FeatureMapKernels::cpu().fwd(map, x.data(), phi.data(), c.rows, c.dim);
    double worst = 0.0;
    for (int64_t r = 0; r < c.rows; ++r) {
      const auto ref = reference_phi(map, row_of(x, r, c.dim));
      REQUIRE(static_cast<int64_t>(ref.size()) == f);
      for (int64_t i = 0; i < f; ++i)
        worst = std::max(worst, std::fabs(phi[r * f + i] - ref[i]) / (1.0 + std::fabs(ref[i])));
    }
    CHECK(worst < 1e-6);
  });
}

TEST_CASE("every feature map's backward matches finite differences of its definition", "[feature_map][kernel]") {
  for_each_seeded_case(kCases, 31, describe_case, [](FeatureMap map, const MapCase& c, Rng& rng) {
    const auto x = normal_values(c.rows * c.dim, rng);
    const int64_t f = feature_map_width(map, c.dim);
    const auto dphi = normal_values(c.rows * f, rng);
    std::vector<float> dx(x.size(), NAN);
    FeatureMapKernels::cpu().bwd(map, x.data(), dphi.data(), dx.data(), c.rows, c.dim);
    double worst = 0.0;
    for (int64_t r = 0; r < c.rows; ++r) {
      std::vector<double> xr = row_of(x, r, c.dim);
      auto loss = [&]() {
        const auto phi = reference_phi(map, xr);
        double sum = 0.0;
        for (int64_t i = 0; i < f; ++i) sum += phi[i] * dphi[r * f + i];
        return sum;
      };
      for (int64_t k = 0; k < c.dim; ++k) {
        const double original = xr[k], h = 1e-6;
        if (std::fabs(original) < 10 * h) continue;  // elu and relu have a kink at 0
        xr[k] = original + h;
        const double up = loss();
        xr[k] = original - h;
        const double down = loss();
        xr[k] = original;
        const double numeric = (up - down) / (2 * h);
        worst = std::max(worst, std::fabs(dx[r * c.dim + k] - numeric) / (1.0 + std::fabs(numeric)));
      }
    }
    CHECK(worst < 1e-5);
  });
}

TEST_CASE("relu takes the zero subgradient at 0 and elu + 1 the one-sided derivative 1", "[feature_map][kernel]") {
  const std::vector<float> x{0.0f, -2.0f, 3.0f};
  const std::vector<float> dphi{5.0f, 7.0f, 11.0f};
  std::vector<float> phi(3), dx(3);
  FeatureMapKernels::cpu().fwd(FeatureMap::relu, x.data(), phi.data(), 1, 3);
  CHECK(phi == std::vector<float>{0.0f, 0.0f, 3.0f});
  FeatureMapKernels::cpu().bwd(FeatureMap::relu, x.data(), dphi.data(), dx.data(), 1, 3);
  CHECK(dx == std::vector<float>{0.0f, 0.0f, 11.0f});
  FeatureMapKernels::cpu().bwd(FeatureMap::elu_plus_one, x.data(), dphi.data(), dx.data(), 3, 1);
  CHECK(dx[0] == 5.0f);
}

TEST_CASE("the taylor map is 1 + d + d^2 wide and its dot products are exp's 2nd-order expansion",
          "[feature_map][kernel]") {
  for (int64_t d : {1, 2, 7, 16}) {
    INFO("d=" << d);
    CHECK(feature_map_width(FeatureMap::taylor, d) == 1 + d + d * d);
    Rng rng(static_cast<uint64_t>(50 + d));
    const auto q = normal_values(d, rng), k = normal_values(d, rng);
    const int64_t f = feature_map_width(FeatureMap::taylor, d);
    std::vector<float> phi_q(f), phi_k(f);
    FeatureMapKernels::cpu().fwd(FeatureMap::taylor, q.data(), phi_q.data(), 1, d);
    FeatureMapKernels::cpu().fwd(FeatureMap::taylor, k.data(), phi_k.data(), 1, d);
    double kernel = 0.0, qk = 0.0;
    for (int64_t i = 0; i < f; ++i) kernel += static_cast<double>(phi_q[i]) * phi_k[i];
    for (int64_t i = 0; i < d; ++i) qk += static_cast<double>(q[i]) * k[i];
    const double expected = 1.0 + qk / std::sqrt(static_cast<double>(d)) + qk * qk / (2.0 * d);
    CHECK(kernel == Approx(expected).epsilon(1e-5));
    CHECK(expected >= 0.5);  // 1 + s + s^2/2 > 0: the normaliser of linear attention never vanishes
  }
  for (FeatureMap map : {FeatureMap::identity, FeatureMap::elu_plus_one, FeatureMap::relu})
    CHECK(feature_map_width(map, 7) == 7);
}

TEST_CASE("feature maps parse and print their names and reject unknown ones by name", "[feature_map]") {
  CHECK(feature_map_names() == std::vector<std::string>{"identity", "elu", "relu", "taylor"});
  for (FeatureMap map : kAllMaps) CHECK(parse_feature_map(feature_map_name(map)) == map);
  CHECK(parse_feature_map("relu") == FeatureMap::relu);
  CHECK(parse_feature_map("taylor") == FeatureMap::taylor);
  CHECK_THROWS_WITH(parse_feature_map("softplus"),
                    "unknown feature map 'softplus'; known feature maps: identity, elu, relu, taylor");
}

TEST_CASE("linear mixer with taylor features matches finite differences and its decode", "[feature_map][mixer]") {
  const nlohmann::json taylor{{"feature_map", "taylor"}, {"feature_dim", 3}, {"chunk_size", 4}};
  const nlohmann::json taylor_plain{{"feature_map", "taylor"}, {"feature_dim", 2}, {"normalize", false}};
  check_mixer_gradients(make_spec("linear", 12, 3, taylor), 2, 11, 703);
  check_mixer_gradients(make_spec("linear", 12, 1, taylor_plain), 1, 1, 704);
  for (int seq_len : {1, 4, 9})
    check_forward_matches_decode(make_spec("linear", 12, 3, taylor), 2, seq_len, 720 + seq_len);
  check_forward_matches_decode(make_spec("linear", 12, 1, taylor_plain), 1, 13, 730);
  check_thread_count_independence(make_spec("linear", 24, 3, {{"feature_map", "taylor"}, {"feature_dim", 4}}), 3,
                                  37, 731);
}

TEST_CASE("linear mixer with relu features matches its decode", "[feature_map][mixer]") {
  for (int seq_len : {1, 4, 9}) {
    check_forward_matches_decode(make_spec("linear", 12, 3, {{"feature_map", "relu"}, {"chunk_size", 5}}), 2, seq_len,
                                 710 + seq_len);
    check_forward_matches_decode(make_spec("linear", 12, 3, {{"feature_map", "relu"}, {"normalize", false}}), 1,
                                 seq_len, 714 + seq_len);
  }
}

// Finite differences of a relu network are spoilt wherever the step carries a pre-activation
// across 0, and with hundreds of them some always cross. So the mixer's relu gradients are checked
// on the positive piece instead: there relu(q) = q exactly, so the relu mixer must give bit for bit
// the outputs and gradients of the identity mixer, whose gradients mixer_checks verifies; relu's
// own derivative, the zero side included, is checked above against its definition.
TEST_CASE("linear mixer with relu features equals the identity mixer where every q and k is positive",
          "[feature_map][mixer]") {
  using nlohmann::json;
  for (const json& extra : {json{{"normalize", true}}, json{{"normalize", false}},
                            json{{"normalize", true}, {"short_conv", 4}},
                            json{{"normalize", false}, {"short_conv", 4}}}) {
    nlohmann::json relu_params{{"feature_map", "relu"}, {"chunk_size", 4}};
    relu_params.update(extra);
    nlohmann::json identity_params = relu_params;
    identity_params["feature_map"] = "identity";
    const MixerSpec relu_spec = make_spec("linear", 12, 3, relu_params);
    INFO(describe(relu_spec));
    auto relu = make_mixer(relu_spec);
    auto identity = make_mixer(make_spec("linear", 12, 3, identity_params));
    // Positive inputs, conv taps, biases and q/k (with v: they are one fused weight) weights make every
    // pre-activation positive.
    for (auto* mixer : {relu.get(), identity.get()})
      for (Param* p : mixer->params())
        if (p->name.find("qkv_proj") != std::string::npos || p->name.find("short_conv") != std::string::npos)
          for (int64_t i = 0; i < p->value.numel(); ++i) p->value[i] = std::fabs(p->value[i]);
    Rng rng(740);
    Tensor x = random_tensor({2, 9, 12}, rng);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = std::fabs(x[i]) + 0.01f;
    const Tensor r = random_tensor(x.shape(), rng);
    Tensor y_relu, y_identity, dx_relu, dx_identity;
    relu->forward(x, y_relu, nullptr);
    identity->forward(x, y_identity, nullptr);
    relu->backward(r, dx_relu);
    identity->backward(r, dx_identity);
    CHECK(bit_identical(y_relu, y_identity));
    CHECK(bit_identical(dx_relu, dx_identity));
    const auto relu_params_list = relu->params(), identity_params_list = identity->params();
    REQUIRE(relu_params_list.size() == identity_params_list.size());
    for (size_t i = 0; i < relu_params_list.size(); ++i) {
      INFO(relu_params_list[i]->name);
      CHECK(bit_identical(relu_params_list[i]->grad, identity_params_list[i]->grad));
    }
    // The identity map's normaliser can vanish for signed features: its unnormalised form is checked.
    if (!identity_params["normalize"].get<bool>())
      check_mixer_gradients(make_spec("linear", 12, 3, identity_params), 2, 9, 741);
  }
}

TEST_CASE("linear mixer state with taylor features is (f * head_dim + f) * n_heads floats, f = 1 + d + d^2",
          "[feature_map][mixer]") {
  const MixerSpec based = make_spec("linear", 64, 2, {{"feature_map", "taylor"}, {"feature_dim", 16}});
  check_state_bytes_growth(based, StateGrowth::constant);
  auto mixer = make_mixer(based);
  CHECK(linear_feature_map(*mixer) == FeatureMap::taylor);
  CHECK(linear_feature_width(*mixer) == 1 + 16 + 256);
  CHECK(mixer->state_bytes(4096) == (273u * 32 + 273) * 2 * 4);
  CHECK(make_mixer(make_spec("linear", 64, 2, {{"feature_map", "relu"}}))->state_bytes(64) == (32u * 32 + 32) * 2 * 4);
  // q and k are projected to feature_dim per head before the map widens them (fused with v's d_model).
  CHECK(mixer->params()[0]->value.shape() == Shape{32 + 32 + 64, 64});
}
